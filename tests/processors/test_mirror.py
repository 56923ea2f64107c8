import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet

FRAME = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)


def mirror(**params):
    with NodeHarness("mirror", params=params) as node:
        return node.feed(video=Packet(FRAME, 5))["video"].value


def test_mirror_and_flip():
    assert np.array_equal(mirror(horizontal=True), FRAME[:, ::-1])
    assert np.array_equal(mirror(horizontal=False, vertical=True), FRAME[::-1])
    assert np.array_equal(mirror(horizontal=True, vertical=True), FRAME[::-1, ::-1])
    assert np.array_equal(mirror(horizontal=False), FRAME)
