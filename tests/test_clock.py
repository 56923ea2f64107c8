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
