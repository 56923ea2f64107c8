import os

from engine.ops.state import RunRecord, safe_name, state_dir


def test_state_dir_prefers_systemd_then_the_variable_then_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("TENSORSTAGE_STATE_DIR", str(tmp_path / "mine"))
    assert state_dir() == tmp_path / "mine" and (tmp_path / "mine").is_dir()
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path / 'unit'}:{tmp_path / 'other'}")
    assert state_dir() == tmp_path / "unit"
    assert state_dir(tmp_path / "asked") == tmp_path / "asked"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.delenv("TENSORSTAGE_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "tensorstage"


def test_patch_names_become_safe_file_names():
    assert safe_name("Gallery night: room 2/3") == "Gallery_night__room_2_3"
    assert safe_name("../..") == "patch"


def test_a_run_that_never_said_it_ended_counts_as_a_restart(tmp_path):
    record = RunRecord(tmp_path, "show")
    record.started("show.toml")
    record.ended("--duration reached", clean=True)
    record.started("show.toml")
    assert record.restarts() == 0
    # The next start finds the run still marked running, by another pid: it was killed.
    data = record.read()
    data["running"]["pid"] = os.getpid() + 1
    record._write(data)
    after = record.started("show.toml")
    assert after["starts"] == 3 and record.restarts() == 1
    assert "ended without stopping" in after["last_end"]["reason"] and not after["last_end"]["clean"]
    record.ended("died: RuntimeError: boom", clean=False)
    assert record.restarts() == 2
    assert not list(tmp_path.glob("runs/*.partial"))      # written whole, then renamed
