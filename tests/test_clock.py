import random

import pytest

from engine.clock import DeviceClockMap, now_us


def test_now_us_is_integer_and_never_goes_back():
    readings = [now_us() for _ in range(10_000)]
    assert all(isinstance(r, int) for r in readings[:10])
    assert all(b >= a for a, b in zip(readings, readings[1:]))


def test_device_clock_is_mapped_with_the_smallest_observed_delay():
    rng = random.Random(1)
    true_offset_us = 5_000_000_123
    clock_map = DeviceClockMap(window=64)
    for i in range(200):
        device_s = 10.0 + i * 0.005
        # We see each device time late by 0.2 to 3 ms, never early.
        seen = int(device_s * 1e6 + true_offset_us + rng.uniform(200, 3000))
        clock_map.observe(device_s, seen)
    mapped = clock_map.to_engine_us(11.0)
    assert abs(mapped - (11.0 * 1e6 + true_offset_us)) < 300


def test_device_clock_drift_is_followed():
    clock_map = DeviceClockMap(window=16)
    for i in range(100):
        device_s = i * 0.01
        drift_us = i * 10  # the device clock runs slow: 1 ms per second
        clock_map.observe(device_s, int(device_s * 1e6 + 1_000 + drift_us))
    # The newest observations (drift ~ 990 us) rule, not the first ones (0 us).
    assert clock_map.offset_us == pytest.approx(1_000 + 990, abs=200)


def test_mapping_before_any_observation_is_an_error():
    with pytest.raises(RuntimeError, match="no observation"):
        DeviceClockMap().to_engine_us(1.0)


def test_pacer_keeps_the_schedule_and_does_not_burst_after_falling_behind():
    from engine.clock import Pacer
    waited = []
    pacer = Pacer(period_us=10_000, lead_us=0)

    def wait(seconds):
        waited.append(seconds)
        import time
        time.sleep(seconds)
        return False

    import time
    start = time.monotonic()
    for _ in range(5):
        assert pacer.wait_turn(wait)
    assert 0.035 < time.monotonic() - start < 0.2        # four periods of 10 ms
    time.sleep(0.05)                                      # fall five periods behind
    waited.clear()
    assert pacer.wait_turn(wait) and waited == []         # goes at once...
    assert pacer.wait_turn(wait) and 0.005 < waited[-1] <= 0.0101   # ...then waits a whole period again
    stopping = Pacer(10_000)
    assert stopping.wait_turn(lambda s: True) is True      # the first turn needs no wait
    assert stopping.wait_turn(lambda s: True) is False     # the engine stopping ends the wait
