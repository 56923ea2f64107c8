import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def devices(tmp_path, env=None):
    out = tmp_path / "devices.json"
    result = subprocess.run([sys.executable, "-m", "engine", "devices", "--json", str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(out.read_text())


def test_devices_lists_every_kind_of_device_and_says_why_one_is_missing(tmp_path):
    text, found = devices(tmp_path, env={"PATH": "/usr/bin:/bin"})
    headings = [line for line in text.splitlines() if not line.startswith(" ")]
    assert [h.split(" (")[0] for h in headings] == ["Cameras:", "Audio devices", "MIDI inputs", "NDI sources:",
                                                     "Displays:"]
    assert isinstance(found["midi"], list) and (found["midi"] or found["midi_problem"] or "none found" in text)
    assert "NDI sources:" in text and isinstance(found["ndi"], list)
    assert found["display_problem"] == "no display: DISPLAY is not set"
    assert "no display: DISPLAY is not set: windows record to a file instead" in text


def test_devices_finds_the_pipewire_sound_server(pipewire, tmp_path):
    text, found = devices(tmp_path)
    names = [d["name"] for d in found["audio"]]
    assert "pipewire" in names, text
    assert any(d["outputs"] > 0 for d in found["audio"])


def test_devices_finds_the_display_and_its_monitors(display, tmp_path):
    text, found = devices(tmp_path)
    assert found["display_problem"] is None
    assert found["monitors"], text
