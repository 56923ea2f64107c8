"""The window: live on a real (virtual) X display, and its controls headless."""

import os
import re
import subprocess
import time

import cv2
import numpy as np

from engine import timecode
from engine.clock import now_us
from engine.events import EventLog
from engine.graph import Engine
from engine.harness import NodeHarness
from engine.node import EngineContext
from engine.packet import Packet
from engine.patch import parse_patch
from tests.conftest import in_child_process

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


def grab_window(title: str, path) -> np.ndarray:
    info = subprocess.run(["xwininfo", "-name", title], capture_output=True, text=True, timeout=10).stdout
    x, y, w, h = (int(re.search(pattern, info)[1]) for pattern in (
        r"Absolute upper-left X:\s+(\d+)", r"Absolute upper-left Y:\s+(\d+)", r"Width:\s+(\d+)",
        r"Height:\s+(\d+)"))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-video_size", f"{w}x{h}",
                    "-i", f"{os.environ['DISPLAY']}+{x},{y}", "-frames:v", "1", str(path)],
                   check=True, timeout=20)
    return cv2.imread(str(path))


def run_for(eng: Engine, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        eng.step(0.01)


def show_and_grab(tmp_path) -> dict:
    """In a child process: run the window, grab it twice a second apart."""
    eng = Engine(parse_patch(PATCH), events=EventLog())
    try:
        eng.start()
        window = eng.runners["screen"].node
        run_for(eng, 1.5)
        # The main thread is ours while we grab, so the screen holds the last frame shown.
        first = timecode.read(grab_window("tensorstage-window-test", tmp_path / "a.png"))
        shown_first = window.shown[-1]
        run_for(eng, 1.0)
        second = timecode.read(grab_window("tensorstage-window-test", tmp_path / "b.png"))
        shown_second = window.shown[-1]
    finally:
        eng.stop()
    return {"first": first, "second": second, "shown_first": shown_first, "shown_second": shown_second,
            "on_main_thread": eng.runners["screen"].on_main_thread, "errors": eng.snapshot()["screen"]["errors"]}


def test_the_window_shows_live_frames_it_was_given(display, ffmpeg, tmp_path):
    seen = in_child_process(show_and_grab, tmp_path)
    mask = (1 << 48) - 1
    assert seen["on_main_thread"]
    assert seen["first"] == seen["shown_first"] & mask and seen["second"] == seen["shown_second"] & mask
    assert 0.9e6 < seen["second"] - seen["first"] < 2.0e6      # a second apart on screen: the window is live
    assert seen["errors"] == 0


def frame(ts: int) -> np.ndarray:
    image = np.full((120, 160, 3), 120, np.uint8)
    timecode.burn(image, ts)
    return image


def headless_window(tmp_path, **options):
    context = EngineContext(headless=True, output_dir=tmp_path)
    return NodeHarness("window", options={"path": str(tmp_path / "out.mp4"), "fps": 10.0, **options},
                       context=context, name="screen")


def recorded(path) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, image = capture.read()
        if not ok:
            return frames
        frames.append(image)


def test_headless_the_window_records_and_honours_blackout_and_freeze(tmp_path):
    with headless_window(tmp_path) as node:
        node.feed(video=Packet(frame(100_000), 100_000))
        node.set_param("freeze", True)
        node.feed(video=Packet(frame(200_000), 200_000))
        node.feed(video=Packet(frame(300_000), 300_000))
        node.set_param("freeze", False)
        node.set_param("blackout", True)
        node.feed(video=Packet(frame(400_000), 400_000))
        node.set_param("blackout", False)
        node.feed(video=Packet(frame(500_000), 500_000))
    frames = recorded(tmp_path / "out.mp4")
    assert [timecode.read(f) for f in frames] == [100_000, 200_000, 200_000, None, 500_000]
    assert frames[3].max() < 20                              # black
    assert node.events.messages()[0].startswith("[screen] headless run (--headless): writing the output to ")


def test_no_signal_card_after_frames_stop_and_signal_back(tmp_path):
    with headless_window(tmp_path, no_signal_s=0.2) as node:
        start = now_us()
        node.feed(video=Packet(frame(start), start))
        time.sleep(0.25)
        node.node.idle()
        node.feed(video=Packet(frame(now_us()), now_us()))
    messages = node.events.messages()
    assert any(re.fullmatch(r"\[screen\] no frames for 0\.\d s: showing NO SIGNAL", m) for m in messages)
    assert any(m.startswith("[screen] signal back after") for m in messages)
    frames = recorded(tmp_path / "out.mp4")
    dimmed = [f for f in frames if timecode.read(f) is None]
    assert dimmed and dimmed[0][60:].mean() < 60              # the dimmed card, not the grey frame


def test_overlay_draws_the_figures(tmp_path):
    with headless_window(tmp_path) as node:
        node.node.context.snapshot = lambda: {"cam": {"fps": 30.0, "latency_p50_ms": None,
                                                      "latency_p95_ms": None, "dropped": 0, "errors": 0}}
        node.set_param("overlay", True)
        node.feed(video=Packet(frame(1), 1))
    [image] = recorded(tmp_path / "out.mp4")
    assert (image[10:] != 120).mean() > 0.01                  # text and its box changed pixels
