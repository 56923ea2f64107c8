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


def test_generated_blocks_are_stamped_by_sample_count_without_drift_over_eight_hours():
    from engine.clock import SampleClock
    rate, block = 48000, 256
    clock = SampleClock(rate, block, lead_blocks=2)
    start = 1_000_000
    blocks = 8 * 3600 * rate // block                      # 8 hours of 256-frame blocks
    last = None
    for n in range(0, blocks, 997):                          # a sample of them, in order
        clock.frames = n * block if n else 0
        now = start + n * block * 1_000_000 // rate
        ts = clock.stamp(now)
        assert ts == start + n * block * 1_000_000 // rate   # exact: no accumulated rounding
        assert last is None or ts > last
        last = ts
    assert clock.reanchors == 0


def test_a_device_running_slow_makes_the_stamps_reanchor_within_the_skew_bound():
    from engine.clock import SampleClock
    rate, block = 48000, 256
    clock = SampleClock(rate, block, lead_blocks=2, max_skew_us=50_000)
    period = block * 1_000_000 / rate
    worst, last = 0.0, 0
    for n in range(200_000):                                 # 17.8 minutes; the device 200 ppm slow
        now = int(1_000_000 + n * period * 1.0002)
        ts = clock.stamp(now)
        assert ts > last
        last = ts
        worst = max(worst, abs(ts - now))
    assert 3 <= clock.reanchors <= 5 and worst <= 50_000          # 213 ms of skew, 50 ms at a time


def test_a_generator_waits_for_the_device_demand_and_keeps_time_by_itself_without_one():
    from engine.clock import SampleClock
    clock = SampleClock(48000, 256, lead_blocks=2)
    demands = iter([0, 100, 300])                         # frames the device wants, as it plays
    waits = []
    assert clock.wait_turn(lambda s: waits.append(s) or False, lambda lead: next(demands))
    assert clock.device_clocked and len(waits) == 2         # waited twice, a quarter block each
    assert waits[0] == pytest.approx(256 / 48000 / 4)
    assert clock.wait_turn(lambda s: False, lambda lead: None) and not clock.device_clocked


def test_a_device_running_fast_never_gets_stamps_from_the_future():
    from engine.clock import SampleClock
    rate, block = 48000, 256
    clock = SampleClock(rate, block, lead_blocks=2)
    period = block * 1_000_000 / rate
    last = 0
    for n in range(20_000):                                  # 200 ppm fast: blocks come early
        now = int(1_000_000 + n * period * 0.9998)
        ts = clock.stamp(now)
        assert last < ts <= now
        last = ts
    burst = [clock.stamp(last + 5) for _ in range(5)]        # the ring filling: five blocks at once
    assert burst == sorted(burst) and burst[-1] <= last + 5 + 5
