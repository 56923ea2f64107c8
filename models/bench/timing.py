"""Timing calls for the benchmarks: p50, p95 and fps over a number of frames."""

from __future__ import annotations

import time

import numpy as np


def time_calls(call, frames: int, warmup: int = 5) -> dict:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(frames):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times = np.array(times)
    p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
    return {"p50_ms": p50, "p95_ms": p95, "fps": 1000.0 / float(times.mean())}
