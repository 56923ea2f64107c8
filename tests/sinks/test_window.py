"""A real window on a real (virtual) X display, checked from a screenshot."""

import re
import subprocess
import sys
import time

import cv2
import pytest

from engine import timecode

PATCH = """
# A generated pattern whose frames carry their timestamps.
[nodes.pattern]
type = "test_pattern"
width = 320
height = 240
fps = 30.0

# The window under test.
[nodes.screen]
type = "window"
title = "tensorstage-window-test"
inputs.video = "pattern.video"
"""


def grab_window(title: str, path) -> "cv2.Mat":
    info = subprocess.run(["xwininfo", "-name", title], capture_output=True, text=True, timeout=10).stdout
    x = int(re.search(r"Absolute upper-left X:\s+(\d+)", info)[1])
    y = int(re.search(r"Absolute upper-left Y:\s+(\d+)", info)[1])
    w = int(re.search(r"Width:\s+(\d+)", info)[1])
    h = int(re.search(r"Height:\s+(\d+)", info)[1])
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-video_size", f"{w}x{h}",
                    "-i", f"{__import__('os').environ['DISPLAY']}+{x},{y}", "-frames:v", "1", str(path)],
                   check=True, timeout=20)
    return cv2.imread(str(path))


def test_the_window_shows_live_frames(display, ffmpeg, tmp_path):
    patch = tmp_path / "window.toml"
    patch.write_text(PATCH)
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", str(patch), "--duration", "8",
                            "--no-reload"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            found = subprocess.run(["xwininfo", "-name", "tensorstage-window-test"], capture_output=True)
            if found.returncode == 0:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        first = timecode.read(grab_window("tensorstage-window-test", tmp_path / "a.png"))
        time.sleep(1.0)
        second = timecode.read(grab_window("tensorstage-window-test", tmp_path / "b.png"))
    finally:
        _, err = run.communicate(timeout=20)
    assert run.returncode == 0, err
    assert "showing the output in window 'tensorstage-window-test'" in err
    assert first is not None and second is not None, err
    assert 0.7e6 < second - first < 2.5e6       # a second apart on screen: the window is live
