import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet

FRAME = np.dstack([np.full((4, 4), v, np.uint8) for v in (30, 120, 220)])


def adjust(**params):
    with NodeHarness("color_adjust", params=params) as node:
        return node.feed(video=Packet(FRAME, 77))["video"]


def test_neutral_settings_change_nothing_and_keep_the_timestamp():
    out = adjust()
    assert out.ts_us == 77
    assert np.array_equal(out.value, FRAME)


def test_zero_saturation_is_grey():
    out = adjust(saturation=0.0).value
    assert np.ptp(out.astype(int), axis=2).max() <= 1


def test_full_brightness_is_white_and_zero_contrast_is_mid_grey():
    assert (adjust(brightness=1.0).value == 255).all()
    assert (np.abs(adjust(contrast=0.0).value.astype(int) - 128) <= 1).all()
