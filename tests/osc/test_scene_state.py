"""Colour hints over real UDP OSC in a running patch (the shipped colorize
model on LiteRT), and scenes that hold a node's state: /scene/store records
the hints, /scene/recall brings them back after a clear, a patch's palette
scene paints from its colours, and a stored scene survives an edit of the
file."""

import socket

import cv2
import numpy as np
import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.osc.bridge import OscBridge, OscConfig
from engine.osc.sender import encode
from engine.patch import parse_patch
from tests.conftest import free_udp_port, wait_for
from tests.nodes_for_tests import RECEIVED

pytest.importorskip("ai_edge_litert")

PATCH = """
# Colour bars with moving parts.
[nodes.pattern]
type = "test_pattern"
width = 320
height = 240

# Made grey, as an old film.
[nodes.grey]
type = "grayscale"
inputs.video = "pattern.video"

# The shipped model; no stabiliser, so each frame shows the hints at once.
[nodes.colorize]
type = "colorize"
threads = 1
inputs.video = "grey.video"
params.stabilize = 0.0
params.hint_spread = 1.0

# Where the frames land.
[nodes.out]
type = "test_collect"
inputs.value = "colorize.video"

[scenes.bluish]
colorize.palette = [0.1, 0.2, 0.6, 0.5, 0.7, 1.0]
{extra}
"""


def redness(frame: np.ndarray) -> tuple[float, float]:
    """Mean Lab a (red-green, 0 neutral) of the left and the right quarter of a BGR frame."""
    a = cv2.cvtColor(frame, cv2.COLOR_BGR2Lab)[..., 1].astype(np.float32) - 128
    quarter = frame.shape[1] // 4
    return float(a[:, :quarter].mean()), float(a[:, -quarter:].mean())


def newest_after(eng, count: int, frames: int = 5) -> np.ndarray:
    """The newest output once `frames` more have arrived (those painted after a change)."""
    assert wait_for(eng, lambda: len(RECEIVED["out"]) >= count + frames, 10, step=0.005)
    return RECEIVED["out"][-1][0].value


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_hints_over_osc_colour_where_they_fall_and_scenes_hold_them(tmp_path, process):
    RECEIVED.pop("out", None)
    port = free_udp_port()
    path = tmp_path / "colour.toml"
    eng = Engine(parse_patch(PATCH.format(extra=""), path=path), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=process))
    bridge.start()
    eng.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    node = eng.runners["colorize"].node

    def send(address, *args):
        client.sendto(encode(address, *args), ("127.0.0.1", port))

    try:
        plain = newest_after(eng, 0)
        left, right = redness(plain)
        send("/colorize/hint", 0.1, 0.5, 1.0, 0.0, 0.0, 0.1)             # red, on the left
        assert wait_for(eng, lambda: node.status()["colorize/hints"] == 1, 5, step=0.005)
        hinted = newest_after(eng, len(RECEIVED["out"]))
        hinted_left, hinted_right = redness(hinted)
        assert hinted_left > left + 8                                    # red where it was dropped
        # Less on the far side: the spreading reaches the whole frame, fainter
        # across edges (the colour bars: +32 against +21 when measured)
        assert hinted_left - left > hinted_right - right + 5

        # hint_spread 0: only the network carries the hint, and it stays near where it fell
        send("/colorize/hint_spread", 0.0)
        assert wait_for(eng, lambda: eng.store.value("colorize/hint_spread") == 0.0, 5, step=0.005)
        near_left, near_right = redness(newest_after(eng, len(RECEIVED["out"])))
        assert near_left > left + 8 and abs(near_right - right) < 3
        send("/colorize/hint_spread", 1.0)

        send("/scene/store", "red_left")
        send("/colorize/clear")
        assert wait_for(eng, lambda: node.status()["colorize/hints"] == 0, 5, step=0.005)
        [clear, (node_name, command, args)] = eng.store.scene_commands["red_left"]
        assert clear == ("colorize", "clear", ()) and (node_name, command) == ("colorize", "hint")
        assert args == pytest.approx((0.1, 0.5, 1.0, 0.0, 0.0, 0.1))      # as OSC's float32 carried them
        cleared_left, _ = redness(newest_after(eng, len(RECEIVED["out"])))
        assert cleared_left < hinted_left - 8

        send("/scene/recall", "red_left")
        assert wait_for(eng, lambda: node.status()["colorize/hints"] == 1, 5, step=0.005)
        recalled_left, _ = redness(newest_after(eng, len(RECEIVED["out"])))
        assert recalled_left > hinted_left - 4                           # the hint is back

        send("/scene/recall", "bluish")                                  # the patch's palette scene
        assert wait_for(eng, lambda: node.status() == {"colorize/hints": 0, "colorize/palette_colours": 2},
                        5, step=0.005)

        # An edit of the file: the scene stored over OSC stays, the running
        # node keeps its palette, and the new scene is there too.
        eng.reload(parse_patch(PATCH.format(extra="[scenes.plain]\ncolorize.clear = true\n"), path=path))
        assert wait_for(eng, lambda: "plain" in eng.store.scenes, 10, step=0.005)
        assert {"red_left", "bluish", "plain"} <= set(eng.store.scenes)
        assert eng.runners["colorize"].node.status()["colorize/palette_colours"] == 2
        send("/scene/recall", "red_left")
        assert wait_for(eng, lambda: eng.runners["colorize"].node.status()
                        == {"colorize/hints": 1, "colorize/palette_colours": 0}, 5, step=0.005)
    finally:
        eng.stop()
        bridge.stop()
