"""The NDI rows of `tensorstage bench video`: a test pattern sent as an NDI
source and received back by name in the same engine, on this machine.

Added latency: the time a frame arrives out of the ndi source minus the
engine time the pattern burned into its pixels (so NDI's compression,
network stack and frame synchroniser, and the graph's two hops, which cost
well under a millisecond). CPU per frame: the process's CPU time over the
run, less that of the same pattern going to the same probe without NDI,
per frame received; it holds both ends (encoding and decoding run in the
NDI runtime's own threads).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from engine import timecode
from engine.clock import now_us
from engine.node import Node, Port, register
from engine.packet import VIDEO, Packet


PATTERN = """
# The ruler: engine time burned into each frame.
[nodes.pattern]
type = "test_pattern"
width = {width}
height = {height}
fps = {fps}
"""

LOOP = """
# Out as NDI, and back in by name.
[nodes.out]
type = "ndi_out"
name = "{name}"
ips = "127.0.0.1"
inputs.video = "pattern.video"

[nodes.feed]
type = "ndi"
source = "{name}"
ips = "127.0.0.1"
"""

PROBE = """
# Reads the burned time of each frame as it arrives.
[nodes.probe]
type = "bench_timestamps"
inputs.video = "{feed}.video"
"""


@register
class TimestampProbe(Node):
    """Bench only: when each burned timestamp arrived."""
    type_name = "bench_timestamps"
    description = "Benchmarks only: reads the timestamp burned into each frame as it arrives."
    inputs = (Port("video", VIDEO),)

    def open(self) -> None:
        self.arrivals: list[tuple[int | None, int]] = []

    def process(self, inputs: dict[str, Packet]) -> None:
        self.arrivals.append((timecode.read(inputs["video"].value), now_us()))


def run_loop(width: int, height: int, fps: float, seconds: float, through_ndi: bool) -> dict[str, Any]:
    from engine.events import EventLog
    from engine.graph import Engine
    from engine.patch import parse_patch

    name = f"tensorstage-bench-{os.getpid()}"
    text = PATTERN.format(width=width, height=height, fps=fps)
    text += (LOOP.format(name=name) if through_ndi else "") + PROBE.format(feed="feed" if through_ndi else "pattern")
    engine = Engine(parse_patch(text, "<bench ndi>"), events=EventLog())
    engine.start()
    try:
        probe = engine.runners["probe"].node
        deadline = time.monotonic() + 20
        while not getattr(probe, "arrivals", None) and time.monotonic() < deadline:
            engine.step(0.01)           # until the first frame is through (NDI finds its source)
        cpu0, started = time.process_time(), time.monotonic()
        count0 = len(probe.arrivals)
        while time.monotonic() - started < seconds:
            engine.step(0.01)
        cpu = time.process_time() - cpu0
        arrivals = probe.arrivals[count0:]
        send_ms = engine.snapshot().get("out", {}).get("process_p50_ms")
    finally:
        engine.stop()
    latencies = np.array([timecode.age_ms(ts, arrived) for ts, arrived in arrivals if ts is not None])
    return {"frames": len(arrivals), "fps": len(arrivals) / seconds,
            "cpu_ms_per_frame": 1000 * cpu / max(1, len(arrivals)),
            "p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else None,
            "p95_ms": float(np.percentile(latencies, 95)) if len(latencies) else None,
            "send_p50_ms": send_ms}


def rows(sizes: list[tuple[int, int]], fps: float, seconds: float) -> list[dict[str, Any]]:
    """One row per size: NDI's added latency and CPU per frame (both ends)."""
    from engine.display import run_in_fresh_process

    out = []
    for width, height in sizes:
        print(f"  ndi {width}x{height}: {seconds:g} s through NDI, {seconds / 2:g} s without", flush=True)
        loop = run_in_fresh_process(run_loop, width, height, fps, seconds, True)
        plain = run_in_fresh_process(run_loop, width, height, fps, seconds / 2, False)
        out.append({"scenario": f"ndi_{height}p", "fps": loop["fps"], "p50_ms": loop["p50_ms"],
                    "p95_ms": loop["p95_ms"], "frames": loop["frames"],
                    "cpu_ms_per_frame": loop["cpu_ms_per_frame"] - plain["cpu_ms_per_frame"],
                    "send_p50_ms": loop["send_p50_ms"]})
    return out
