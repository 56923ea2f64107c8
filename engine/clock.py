"""The one engine clock, and the mapping of device clocks onto it.

Every value in the engine is stamped with `now_us()`: integer microseconds from a
monotonic clock. Devices keep their own clocks (PortAudio stream time, capture
times); `DeviceClockMap` tracks the offset so their times can be restated on ours.
"""

from __future__ import annotations

import time


def now_us() -> int:
    """Microseconds on the engine's monotonic clock."""
    return time.monotonic_ns() // 1000


class DeviceClockMap:
    """Restates a device clock (seconds, any epoch) as engine microseconds.

    Each observation pairs a device time with the engine time at which we saw it.
    We always see an event late, never early, so the smallest offset seen is the
    truest; it is taken over a sliding window (two half windows, swapped) so slow
    drift between the two clocks is followed instead of frozen.
    """

    def __init__(self, window: int = 256) -> None:
        self._half = max(1, window // 2)
        self._count = 0
        self._current_min: float | None = None
        self._previous_min: float | None = None

    def observe(self, device_s: float, engine_us: int | None = None) -> None:
        seen_us = now_us() if engine_us is None else engine_us
        offset = seen_us - device_s * 1e6
        if self._current_min is None or offset < self._current_min:
            self._current_min = offset
        self._count += 1
        if self._count >= self._half:
            self._previous_min, self._current_min, self._count = self._current_min, None, 0

    @property
    def offset_us(self) -> float | None:
        """Engine time minus device time, or None before the first observation."""
        candidates = [m for m in (self._current_min, self._previous_min) if m is not None]
        return min(candidates) if candidates else None

    def to_engine_us(self, device_s: float) -> int:
        offset = self.offset_us
        if offset is None:
            raise RuntimeError("DeviceClockMap has no observation yet")
        return int(round(device_s * 1e6 + offset))


class SampleClock:
    """Paces an audio generator and stamps its blocks by their sample count.

    With a sink that the sound device clocks (`wanted()` gives the frames the
    speakers want now), a block is made when the device asks for one, so the
    generator follows the device's clock, not a nominal rate; without one, it
    keeps the nominal rate on the engine clock (a Pacer). Each block's stamp is
    anchor + frames / rate (integer arithmetic: no error accumulates over
    hours); a stamp is never later than now (blocks made ahead move the
    timeline back), and should the stamps fall more than `max_skew_us` behind
    the engine clock (a device running slow for hours, a stall), the clock
    re-anchors on now, counted in `reanchors`.
    """

    def __init__(self, rate: int, block: int, lead_blocks: int, max_skew_us: int = 50_000) -> None:
        self.rate, self.block, self.max_skew_us = rate, block, max_skew_us
        self.period_us = block * 1e6 / rate
        self.lead_frames = max(1, lead_blocks) * block
        self.pacer = Pacer(self.period_us, lead_us=lead_blocks * self.period_us, behind_us=4 * self.period_us)
        self.anchor_us: int | None = None
        self.frames = 0
        self.reanchors = 0
        self.device_clocked = False
        self._last_us = 0

    def wait_turn(self, wait, wanted=None) -> bool:
        """Wait until the next block is due; False if stopping. `wanted(lead)`
        gives the device's demand in frames, or None when no device plays."""
        while wanted is not None:
            demand = wanted(self.lead_frames)
            if demand is None:
                break
            self._clocked_by_device(True)
            if demand >= self.block:
                return True
            if wait(self.period_us / 4e6):      # a quarter block: well inside the device buffer
                return False
        self._clocked_by_device(False)
        return self.pacer.wait_turn(wait)

    def _clocked_by_device(self, device: bool) -> None:
        if device != self.device_clocked:
            self.device_clocked = device
            self.anchor_us = None                 # a new timeline: stamp from now

    def stamp(self, now: int | None = None) -> int:
        """The time of the next block: the anchor plus its sample count."""
        now = now_us() if now is None else now
        ts = None if self.anchor_us is None else self.anchor_us + self.frames * 1_000_000 // self.rate
        if ts is None or now - ts > self.max_skew_us:
            if ts is not None:
                self.reanchors += 1      # the device ran slow, or the generator stalled
            self.anchor_us, self.frames = max(now, self._last_us + 1), 0
            ts = self.anchor_us
        elif ts > now:
            # Made ahead of its time (the device's buffer filling, a device running
            # fast): a stamp never lies in the future; the timeline moves back.
            self.anchor_us -= ts - max(now, self._last_us + 1)
            ts = max(now, self._last_us + 1)
        self.frames += self.block
        self._last_us = ts
        return ts


class Pacer:
    """Keeps a source on its schedule: one turn every `period_us`, up to `lead_us`
    early. A source that falls more than `behind_us` late starts a new schedule
    from now instead of bursting to catch up (a late frame is not worth two)."""

    def __init__(self, period_us: float, lead_us: float = 0.0, behind_us: float | None = None) -> None:
        self.period_us, self.lead_us = period_us, lead_us
        self.behind_us = period_us if behind_us is None else behind_us
        self._next_us: float | None = None

    def wait_turn(self, wait) -> bool:
        """Wait (with `wait(seconds) -> stopping`) for the next turn; False if stopping."""
        now = now_us()
        if self._next_us is None or now - self._next_us > self.behind_us:
            self._next_us = now
        delay_us = self._next_us - self.lead_us - now
        if delay_us > 0 and wait(delay_us / 1e6):
            return False
        self._next_us += self.period_us
        return True
