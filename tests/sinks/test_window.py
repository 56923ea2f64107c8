"""The window: live on a real (virtual) X display, and its controls headless."""

import os
import re
import shutil
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
from tests.conftest import in_child_process, require

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
    # a second apart on screen, plus the first grab (ffmpeg starting: up to seconds on a loaded machine)
    assert 0.9e6 < seen["second"] - seen["first"] < 4.0e6
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


KIOSK_TITLE = "tensorstage-kiosk-test"


def xdotool(*args) -> str:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10).stdout.strip()


def kiosk_session(tmp_path) -> dict:
    """In a child process: a kiosk window; the quit keys, a closed window and
    the stop sequence, sent as real X key events."""
    reports = []
    context = EngineContext(kiosk=True, output_dir=tmp_path)
    eng = Engine(parse_patch(PATCH.replace("tensorstage-window-test", KIOSK_TITLE)), context, events=EventLog())
    eng.events.printer = lambda event: reports.append(str(event))
    found: dict = {}
    try:
        eng.start()
        run_for(eng, 1.5)
        info = subprocess.run(["xwininfo", "-name", KIOSK_TITLE], capture_output=True, text=True).stdout
        found["size"] = tuple(int(re.search(p, info)[1]) for p in (r"Width:\s+(\d+)", r"Height:\s+(\d+)"))
        found["saver"] = subprocess.run(["xset", "q"], capture_output=True, text=True).stdout
        # Real key events (XTEST) to the focused window, as a visitor's keyboard sends them.
        xdotool("windowfocus", xdotool("search", "--name", f"^{KIOSK_TITLE}$").split()[-1])
        # (typed at a person's pace while the show runs: OpenCV keeps one key per waitKey)
        typing = subprocess.Popen(["xdotool", "key", "--delay", "150", "q", "Escape", "f", "b"])
        run_for(eng, 1.5)
        typing.wait(10)
        found["stopped_by_quit_keys"] = eng.stop_requested.is_set()
        found["blackout"] = eng.store.target("screen/blackout")
        cv2.destroyWindow(KIOSK_TITLE)            # what OpenCV sees when the close button is used
        run_for(eng, 1.0)
        found["window_again"] = bool(xdotool("search", "--name", f"^{KIOSK_TITLE}$"))
        xdotool("windowfocus", xdotool("search", "--name", f"^{KIOSK_TITLE}$").split()[-1])
        typing = subprocess.Popen(["xdotool", "key", "--delay", "150", "q", "u", "i", "t"])
        run_for(eng, 1.5)
        typing.wait(10)
        found["stop_reason"] = eng.stop_reason
    finally:
        eng.stop()
    found["reports"] = reports
    return found


def test_kiosk_mode_covers_the_monitor_keeps_the_screen_awake_and_ignores_the_quit_keys(display, tmp_path):
    require(shutil.which("xdotool") is not None, "xdotool (apt install xdotool)")
    found = in_child_process(kiosk_session, tmp_path)
    assert found["size"] == (1920, 1080), found        # the whole Xvfb screen of .ci/services
    assert re.search(r"timeout:\s+0\b", found["saver"]) and "prefer blanking:  no" in found["saver"]
    assert not found["stopped_by_quit_keys"] and found["blackout"] is False    # keys change nothing
    assert found["window_again"] and any("opening it again" in r for r in found["reports"])
    assert found["stop_reason"] == '"quit" typed in the kiosk window'
    assert any("cursor hidden" in r for r in found["reports"]), found["reports"]


LEARN_TITLE = "tensorstage-learn-keys-test"
LEARN_PATCH = PATCH.replace("tensorstage-window-test", LEARN_TITLE) + """
# What the learn node hears: the pattern's motion and brightness.
[nodes.look]
type = "video_analysis"
inputs.video = "pattern.video"

# A learn node, driven by the window's keys.
[nodes.mapping]
type = "learn"
inputs.in1 = "look.motion"
inputs.in2 = "look.brightness"
targets = ["screen.blackout"]
file = "{file}"
"""


def learn_keys_session(tmp_path) -> dict:
    """In a child process: r, r, g, x typed as real X key events into the window."""
    eng = Engine(parse_patch(LEARN_PATCH.replace("{file}", str(tmp_path / "keys.learn.json"))), events=EventLog())
    found: dict = {}
    try:
        eng.start()
        run_for(eng, 1.5)
        node = eng.runners["mapping"].node
        xdotool("windowfocus", xdotool("search", "--name", f"^{LEARN_TITLE}$").split()[-1])
        xdotool("key", "r")
        run_for(eng, 1.0)
        found["recording"] = node.state
        xdotool("key", "r")
        run_for(eng, 0.5)
        found["examples"] = len(node.examples.rows)
        xdotool("key", "g")                   # no mapping yet: says so, changes nothing
        run_for(eng, 0.5)
        xdotool("key", "x")
        run_for(eng, 0.5)
        found["after_delete"] = len(node.examples.rows)
        found["running"] = not eng.stop_requested.is_set()
        found["messages"] = eng.events.messages()
    finally:
        eng.stop()
    return found


def test_the_learn_nodes_keys_reach_it_through_the_window(display, tmp_path):
    require(shutil.which("xdotool") is not None, "xdotool (apt install xdotool)")
    found = in_child_process(learn_keys_session, tmp_path)
    assert found["recording"] == 1, found["messages"]
    assert found["examples"] >= 5 and found["after_delete"] == 0
    assert any("no trained mapping" in m for m in found["messages"])
    assert found["running"]
