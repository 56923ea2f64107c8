import numpy as np
import pytest

from engine.harness import NodeHarness
from engine.packet import Packet


def test_mean_colour_brightness_and_motion():
    red = np.zeros((48, 64, 3), np.uint8)
    red[..., 2] = 255
    half = red.copy()
    half[:, :32] = 0
    with NodeHarness("video_analysis") as node:
        first = node.feed(video=Packet(red, 1))
        assert first["red"].value == pytest.approx(1.0)
        assert first["green"].value == 0.0 and first["blue"].value == 0.0
        assert first["motion"].value == 0.0                 # nothing to compare with yet
        assert first["brightness"].value == pytest.approx(0.3, abs=0.02)  # luma of pure red
        second = node.feed(video=Packet(half, 2))
        assert second["motion"].ts_us == 2
        assert second["motion"].value == pytest.approx(0.5 * first["brightness"].value, abs=0.02)
        assert node.feed(video=Packet(half, 3))["motion"].value == 0.0
