"""A real paced stream that dies mid-run and comes back: the camera source
recovers by itself and the window shows NO SIGNAL meanwhile."""

import socket
import subprocess

from engine.events import EventLog
from engine.graph import Engine
from engine.patch import parse_patch
from tests.conftest import in_child_process, wait_for

PATCH = """
# The stream under test, short timeouts so the test is quick.
[nodes.cam]
type = "camera"
device = "udp://127.0.0.1:{port}"
timeout_s = 1.0

# The real window, on the test's X display.
[nodes.screen]
type = "window"
title = "tensorstage-reconnect-test"
no_signal_s = 1.0
inputs.video = "cam.video"
"""


def start_stream(ffmpeg: str, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [ffmpeg, "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
         "-c:v", "mpeg2video", "-q:v", "5", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lose_and_recover(ffmpeg: str) -> dict:
    """In a child process (it opens a window): run, kill the stream, restart it."""
    port = free_udp_port()
    stream = start_stream(ffmpeg, port)
    eng = Engine(parse_patch(PATCH.format(port=port)), events=EventLog())
    steps = {}
    try:
        eng.start()
        window = eng.runners["screen"].node
        steps["first_frames"] = wait_for(eng, lambda: len(window.shown) > 30, 15)

        stream.terminate()
        stream.wait(5)
        steps["no_signal"] = wait_for(eng, lambda: any("NO SIGNAL" in m for m in eng.events.messages()), 10)
        steps["retried"] = wait_for(eng, lambda: eng.snapshot()["cam"]["errors"] >= 2, 10)
        shown_while_lost = len(window.shown)

        stream = start_stream(ffmpeg, port)
        steps["recovered"] = wait_for(eng, lambda: len(window.shown) > shown_while_lost + 30, 20)
        steps["still_running"] = not eng.stop_requested.is_set()
    finally:
        stream.terminate()
        stream.wait(5)
        eng.stop()
    return {"steps": steps, "figures": eng.snapshot()["cam"], "messages": eng.events.messages()}


def test_the_camera_recovers_after_the_stream_dies_and_returns(display, ffmpeg):
    result = in_child_process(lose_and_recover, ffmpeg)
    messages = result["messages"]
    assert result["steps"] == {"first_frames": True, "no_signal": True, "retried": True,
                               "recovered": True, "still_running": True}, messages
    assert result["figures"]["reopens"] >= 1
    assert any("stopped delivering frames; reopening" in m for m in messages)
    assert any(m.startswith("[screen] signal back after") for m in messages)
