from pathlib import Path

import numpy as np
import pytest
import soundfile

from engine.harness import NodeHarness
from tests.conftest import require_file


def test_plays_in_blocks_resampled_and_loops(tmp_path):
    ramp = np.linspace(-0.5, 0.5, 2400, dtype=np.float32)            # 0.1 s at 24 kHz
    soundfile.write(tmp_path / "cue.wav", ramp, 24000)
    options = {"path": str(tmp_path / "cue.wav"), "block": 1024, "lead_blocks": 8}
    with NodeHarness("audio_file", options=options, name="cue") as node:
        blocks = [node.step()["audio"] for _ in range(6)]
    audio = np.concatenate([b.value for b in blocks])[:, 0]
    assert blocks[0].value.shape == (1024, 1)
    assert audio[:4800] == pytest.approx(np.interp(np.arange(4800) / 2, np.arange(2400), ramp), abs=1e-4)
    assert audio[4800:4810] == pytest.approx(ramp[:5].repeat(2), abs=0.01)   # looped to the start
    assert [b.ts_us for b in blocks] == sorted({b.ts_us for b in blocks})
    assert node.events.messages() == [f"[cue] playing {tmp_path / 'cue.wav'}: 0.1 s, 1 channel(s), "
                                      "24000 Hz resampled to 48000 Hz, looping"]


def test_reads_a_real_ogg_from_a_package():
    source = Path("/usr/share/lmms/samples/instruments/flute01.ogg")
    require_file(str(source), "lmms-common")
    with NodeHarness("audio_file", options={"path": str(source), "lead_blocks": 32}) as node:
        block = node.step()["audio"].value
    assert block.shape[0] == 256 and np.isfinite(block).all()
