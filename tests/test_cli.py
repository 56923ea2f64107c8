"""The `tensorstage` command as a user meets it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from engine import timecode

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("tensorflow", "keras", "ai_edge_litert", "jax", "torch")
PROBE = """
import sys
from engine.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("HEAVY:" + ",".join(m for m in {heavy!r} if m in sys.modules))
sys.exit(code)
"""


def tensorstage(*args, cwd=REPO, timeout=60, env=None):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def heavy_imports(*args, tmp_path):
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("HEAVY:")][-1]
    return result, line.removeprefix("HEAVY:")


@pytest.mark.parametrize("args", [["--help"], ["devices"], ["check", "default"]])
def test_fast_commands_import_no_tensorflow(args, tmp_path):
    result, heavy = heavy_imports(*args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert heavy == ""


def test_a_cpu_run_without_tensorflow_models_imports_no_tensorflow(tmp_path):
    result, heavy = heavy_imports("run", "--duration", "1", "--headless", "--quiet",
                                  "--output-dir", str(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert heavy == ""


def test_a_cpu_run_of_a_litert_model_imports_no_tensorflow(tmp_path):
    patch = tmp_path / "model.toml"
    patch.write_text(f"""
[nodes.pattern]
type = "test_pattern"
[nodes.style]
type = "image_model"
path = "{REPO / 'models' / 'bench' / 'convnet_int8.tflite'}"
inputs.video = "pattern.video"
[nodes.screen]
type = "window"
inputs.video = "style.video"
""")
    result, heavy = heavy_imports("run", str(patch), "--duration", "2", "--headless", "--no-osc",
                                  "--output-dir", str(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[style] convnet_int8.tflite: litert" in result.stderr
    assert heavy == "ai_edge_litert"                    # LiteRT, and no TensorFlow


def test_check_reports_ok_and_mistakes(tmp_path):
    ok = tensorstage("check", "default")
    assert ok.returncode == 0
    assert ok.stdout.strip().endswith("default.toml: ok (7 nodes, 8 exposed parameters, 2 scenes)")
    bad = tmp_path / "bad.toml"
    bad.write_text('[nodes.cam]\ntype = "camera"\nwidht = 3\n')
    result = tensorstage("check", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f'{bad}: node "cam", key "widht": unknown key for a camera node; '
                                            'did you mean "width"?')


def test_run_an_unknown_patch_names_the_bundled_ones():
    result = tensorstage("run", "nosuchpatch", "--duration", "1")
    assert result.returncode == 1
    from engine.patch import bundled_patches
    assert {"default", "style_live"} <= set(bundled_patches())
    assert [line.split(maxsplit=2)[1:] for line in result.stderr.splitlines()] == [
        ["ERROR", "nosuchpatch: no such patch file"], ["ERROR", f"bundled patches: {', '.join(bundled_patches())}"]]


def test_default_run_falls_back_says_so_and_records_a_live_file(tmp_path):
    stats = tmp_path / "stats.json"
    result = tensorstage("run", "--duration", "3", "--headless", "--output-dir", str(tmp_path / "out"),
                         "--stats-json", str(stats), timeout=60)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "[screen] headless run (--headless): writing the output to " in err
    if not list(Path("/dev").glob("video*")):
        assert "showing a generated test pattern instead" in err
    [video] = (tmp_path / "out").glob("default-*.mp4")
    assert "wrote " in err and str(video) in err
    capture = cv2.VideoCapture(str(video))
    stamps = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        stamps.append(timecode.read(frame))
    assert len(stamps) >= 60                                    # about 3 s at 30 fps
    decoded = [s for s in stamps if s is not None]
    assert len(decoded) >= 0.9 * len(stamps)
    assert decoded == sorted(decoded)                           # frames in time order
    figures = json.loads(stats.read_text())
    assert figures["nodes"]["camera"]["fps"] > 15
    assert figures["nodes"]["screen"]["frames_in"] >= 60
    assert figures["nodes"]["screen"]["errors"] == 0


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_cleanly_and_closes_the_file(how, tmp_path):
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", "--headless", "--output-dir", str(tmp_path)],
                           cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list(tmp_path.glob("*.mp4")):
        time.sleep(0.1)
    time.sleep(1.0)
    run.send_signal(how)
    _, err = run.communicate(timeout=20)
    assert run.returncode == 0, err
    reason = "Ctrl-C" if how == signal.SIGINT else "SIGTERM"
    assert f"({reason})" in err
    [video] = tmp_path.glob("*.mp4")
    capture = cv2.VideoCapture(str(video))
    ok, _ = capture.read()
    assert ok                                                    # a finished, readable file


def test_the_installed_command_finds_its_patches_from_any_folder(tmp_path):
    command = Path(sys.executable).parent / "tensorstage"
    if not command.exists():
        pytest.skip("tensorstage is not installed in this environment (pip install .)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(command), "check", "default"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert "default.toml: ok" in result.stdout


def test_osc_list_prints_the_address_space():
    result = tensorstage("osc", "list", "default")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("/")}
    assert rows["/color/saturation"][:4] == ["in", "f", "0..2", "1.0"]
    assert rows["/screen/blackout"][:4] == ["in", "i", "0|1", "0"]
    assert rows["/analysis/motion"][:2] == ["out", "f"]
    assert rows["/tensorstage/alive"][:2] == ["out", "f"]


def test_every_bundled_patch_lists_its_addresses_with_type_tags():
    from engine.osc.address_space import address_space
    from engine.patch import bundled_patches, load_patch
    for name, path in bundled_patches().items():
        listed = address_space(load_patch(path))        # colorize_live's once failed on a malformed argument
        assert listed and all(a.address.startswith("/") for a in listed), name
    rows = {line.split()[0]: line.split()[1:] for line in tensorstage("osc", "list", "colorize_live").stdout.splitlines()
            if line.startswith("/")}
    assert rows["/colorize/hint"][:2] == ["in", "fffff[f]"] and rows["/colorize/palette"][:2] == ["in", "fff..."]


def test_style_live_runs_headless_and_paints_the_recording(tmp_path):
    stats = tmp_path / "stats.json"
    result = tensorstage("run", "style_live", "--duration", "3", "--headless", "--no-osc",
                         "--output-dir", str(tmp_path / "out"), "--stats-json", str(stats), timeout=90)
    assert result.returncode == 0, result.stderr
    assert "[style] style.keras: 4 styles (style1=starry_night" in result.stderr
    [video] = (tmp_path / "out").glob("style_live-*.mp4")
    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    assert ok and timecode.read(frame) is None                 # painted over: the code is no longer readable
    figures = json.loads(stats.read_text())
    assert figures["nodes"]["style"]["errors"] == 0
    assert figures["nodes"]["style"]["fps"] > 10                # loose; bench audio records 30 fps


@pytest.mark.parametrize("after_s", [0.0, 0.5, 2.0])
def test_ctrl_c_stops_a_run_while_it_starts_and_loads_a_model(after_s, tmp_path):
    """A signal is a request to stop, heard whatever the main thread is doing
    (opening nodes, a model loading); the run exits within 3 s (asserted
    loosely here; `bench fuzz` records the figure)."""
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", "style_live", "--headless", "--no-osc",
                            "--output-dir", str(tmp_path)], cwd=REPO, stderr=subprocess.PIPE, text=True)
    first = run.stderr.readline()            # the run has begun ("running ...")
    time.sleep(after_s)
    sent = time.monotonic()
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=30)
    err = first + err
    took = time.monotonic() - sent
    assert run.returncode == 0, err
    assert "(Ctrl-C)" in err or "Ctrl-C" in err, err
    assert took < 8, (took, err)
