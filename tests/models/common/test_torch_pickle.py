"""The legacy checkpoint reader imports nothing a file names: every pickle
in it, header included, goes through a restricted unpickler."""

import pickle

import pytest

from models.common.torch_pickle import CheckpointError, load_legacy_checkpoint


class Planted:
    """Unpickling this calls a function the file names (here: a harmless one
    that writes a marker; an attacker's would run a command)."""

    def __reduce__(self):
        return (open, ("/tmp/tensorstage-planted-marker", "w"))


@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_class_in_any_header_pickle_is_refused(tmp_path, position):
    import os
    marker = "/tmp/tensorstage-planted-marker"
    if os.path.exists(marker):
        os.unlink(marker)
    header = [0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}]
    header[position] = Planted()
    path = tmp_path / "evil.pth"
    with path.open("wb") as f:
        for part in header:
            pickle.dump(part, f)
    with pytest.raises(CheckpointError, match="plain values only"):
        load_legacy_checkpoint(path)
    assert not os.path.exists(marker)
