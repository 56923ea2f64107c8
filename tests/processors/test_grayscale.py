import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet

FRAME = np.dstack([np.full((4, 4), v, np.uint8) for v in (10, 100, 250)])


def test_full_amount_is_grey_and_zero_is_untouched():
    with NodeHarness("grayscale", params={"amount": 1.0}) as node:
        grey = node.feed(video=Packet(FRAME, 1))["video"].value
        node.set_param("amount", 0.0, fade_s=0)
        same = node.feed(video=Packet(FRAME, 2))["video"].value
    assert np.ptp(grey.astype(int), axis=2).max() == 0
    assert same is FRAME


def test_half_amount_is_between():
    with NodeHarness("grayscale", params={"amount": 0.5}) as node:
        half = node.feed(video=Packet(FRAME, 1))["video"].value.astype(int)
    assert 10 < half[0, 0, 0] < 100 and 100 < half[0, 0, 2] < 250
