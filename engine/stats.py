"""Figures every stream keeps about itself: counts, rates and rolling percentiles.

Recording is a few integer and array writes, cheap enough for every frame; the
percentiles are computed only when someone asks (the status line, once a second).
"""

from __future__ import annotations

import numpy as np

from engine.clock import now_us


class Rolling:
    """The last `size` samples of a figure (ms), for median and p95."""

    def __init__(self, size: int = 256) -> None:
        self._values = np.zeros(size, dtype=np.float64)
        self._count = 0

    def add(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def percentile(self, q: float) -> float | None:
        filled = self._values[: min(self._count, len(self._values))]
        return float(np.percentile(filled, q)) if len(filled) else None


class NodeStats:
    """What one node has done: packets in and out, drops, errors, timing."""

    def __init__(self, rate_window: int = 64) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.errors = 0
        self.out_of_order = 0
        self.reopens = 0
        self.last_error = ""
        self.process_ms = Rolling()
        self.latency_ms = Rolling()
        self._done_times = np.zeros(rate_window, dtype=np.int64)
        self._done = 0

    def count_done(self, t_us: int) -> None:
        """A packet was produced (source) or handled (processor, sink) at `t_us`."""
        self._done_times[self._done % len(self._done_times)] = t_us
        self._done += 1

    def fps(self, now: int | None = None) -> float:
        """Rate of the last packets produced or handled; 0 once they stopped."""
        n = min(self._done, len(self._done_times))
        if n < 2:
            return 0.0
        newest = self._done_times[(self._done - 1) % len(self._done_times)]
        oldest = self._done_times[(self._done - n) % len(self._done_times)]
        span = newest - oldest
        now = now_us() if now is None else now
        if span <= 0 or now - newest > 2 * span / (n - 1) + 1_000_000:
            return 0.0
        return (n - 1) * 1e6 / span

    def snapshot(self, dropped: int) -> dict[str, float | int | str | None]:
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "dropped": dropped,
            "errors": self.errors,
            "reopens": self.reopens,
            "out_of_order": self.out_of_order,
            "fps": round(self.fps(), 2),
            "process_p50_ms": _round(self.process_ms.percentile(50)),
            "process_p95_ms": _round(self.process_ms.percentile(95)),
            "latency_p50_ms": _round(self.latency_ms.percentile(50)),
            "latency_p95_ms": _round(self.latency_ms.percentile(95)),
            "last_error": self.last_error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
