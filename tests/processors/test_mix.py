import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet

A = np.full((40, 60, 3), 0, np.uint8)
B = np.full((20, 30, 3), 200, np.uint8)      # another size: cropped to fit a


def test_crossfade_follows_stream_a_and_samples_b():
    with NodeHarness("mix", params={"mix": 0.5}) as node:
        assert node.feed(b=Packet(B, 1)) == {}              # b alone does not trigger
        out = node.feed(a=Packet(A, 2))["video"]
        assert out.ts_us == 2 and out.value.shape == (40, 60, 3)
        assert abs(int(out.value[0, 0, 0]) - 100) <= 1
        node.set_param("mix", 1.0, fade_s=0)
        assert (node.feed(a=Packet(A, 3))["video"].value == 200).all()
        node.set_param("mix", 0.0, fade_s=0)
        assert node.feed(a=Packet(A, 4))["video"].value is A


def test_without_b_a_passes():
    with NodeHarness("mix") as node:
        assert node.feed(a=Packet(A, 1))["video"].value is A
