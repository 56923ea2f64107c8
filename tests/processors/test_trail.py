import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet


def dot(x: int) -> np.ndarray:
    frame = np.zeros((10, 10, 3), np.uint8)
    frame[5, x] = 200
    return frame


def test_a_moving_dot_leaves_a_fading_trail():
    with NodeHarness("trail", params={"amount": 0.5, "glow": 1.0}) as node:
        node.feed(video=Packet(dot(1), 1))
        node.feed(video=Packet(dot(2), 2))
        out = node.feed(video=Packet(dot(3), 3))["video"].value
    assert out[5, 3, 0] == 200
    assert out[5, 2, 0] == 100
    assert out[5, 1, 0] == 50


def test_zero_amount_leaves_no_trail():
    with NodeHarness("trail", params={"amount": 0.0}) as node:
        node.feed(video=Packet(dot(1), 1))
        out = node.feed(video=Packet(dot(2), 2))["video"].value
    assert out[5, 1, 0] == 0
