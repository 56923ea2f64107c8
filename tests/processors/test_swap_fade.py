"""A live model swap dissolves: the new node paints with both models for
`swap_fade_s`, the old one fading out."""

import time

import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet


def _mean_diff(a, b):
    return float(np.abs(a.astype(np.float32) - b).mean())


def test_a_swapped_style_node_crossfades_from_the_old_one():
    frame = np.random.default_rng(5).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    still = {"stabilize": 0.0}
    with NodeHarness("style", params={**still, "style1": 1.0}, name="style") as old, \
            NodeHarness("style", options={"swap_fade_s": 0.6},
                        params={**still, "style1": 0.0, "style3": 1.0}, name="style") as new:
        before = old.feed(video=Packet(frame, 1))["video"].value
        own = new.feed(video=Packet(frame, 2))["video"].value          # the new model alone
        assert _mean_diff(before, own) > 10                            # the two paintings differ
        new.node.take_over(old.node)
        first = new.feed(video=Packet(frame, 3))["video"].value
        assert _mean_diff(first, before) < 0.25 * _mean_diff(own, before)     # starts at the old picture
        time.sleep(0.3)
        middle = new.feed(video=Packet(frame, 4))["video"].value
        assert 0.2 < _mean_diff(middle, before) / _mean_diff(own, before) < 0.8
        time.sleep(0.35)
        after = new.feed(video=Packet(frame, 5))["video"].value
        assert np.array_equal(after, own)                              # and ends at the new one
        assert new.node.fade.old is None                               # the old model is let go


def test_a_swap_into_a_different_node_type_is_a_plain_switch():
    with NodeHarness("style", params={"stabilize": 0.0}, name="x") as node:
        node.node.take_over(object())
        assert node.node.fade.old is None
