import time

from engine import timecode
from engine.harness import NodeHarness


def test_each_frame_carries_its_own_timestamp_and_the_rate_is_paced():
    with NodeHarness("test_pattern", options={"width": 320, "height": 240, "fps": 50.0}) as node:
        start = time.monotonic()
        packets = [node.step()["video"] for _ in range(26)]
        elapsed = time.monotonic() - start
    assert packets[0].value.shape == (240, 320, 3)
    for packet in packets:
        assert timecode.read(packet.value) == packet.ts_us & ((1 << 48) - 1)
    assert 0.4 <= elapsed < 2.0                      # 25 periods of 20 ms, loosely
    gaps = [(b.ts_us - a.ts_us) / 1000 for a, b in zip(packets, packets[1:])]
    assert min(gaps) > 5 and sorted(gaps)[len(gaps) // 2] < 40


def test_the_pattern_moves():
    with NodeHarness("test_pattern", options={"width": 160, "height": 120, "fps": 200.0}) as node:
        a, b = node.step()["video"].value, node.step()["video"].value
    band = timecode.band_height(120)
    assert (a[band:] != b[band:]).any()
