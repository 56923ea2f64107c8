"""`tensorstage bench osc`: does an OSC flood disturb the video?

A patch of real video nodes (test pattern -> colour -> trail -> window, with
analysis) runs with its OSC server on; first `--seconds` undisturbed, then the
same while another process sends `--rate` valid parameter messages a second (one
in ten with garbage mixed in). The video's latency at the window (p50, p95) and
its frame rate are compared, and the server's counters are checked against what
was sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine.bench.report import print_table, write_json
from engine.display import display_problem, start_private_display
from engine.events import EventLog
from engine.graph import Engine
from engine.node import EngineContext
from engine.osc.bridge import OscBridge, OscConfig
from engine.patch import parse_patch
from engine.realtime import tune_for_real_time
from engine.stats import Rolling

PATCH = """
[nodes.pattern]
type = "test_pattern"
width = 640
height = 480
fps = 30.0

[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"
params.saturation = { default = 1.0, max = 2.0 }

[nodes.trail]
type = "trail"
inputs.video = "color.video"

[nodes.analysis]
type = "video_analysis"
inputs.video = "trail.video"

[nodes.screen]
type = "window"
title = "tensorstage-bench-osc"
no_signal_s = 0.0
inputs.video = "trail.video"
"""

# The flood, run as its own process: paced in 1 ms slices, valid messages with
# every tenth datagram garbage. Prints how many it sent.
FLOOD = r"""
import socket, sys, time
from engine.osc.sender import encode
port, rate, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
valid = [encode("/color/saturation", 0.5 + (i % 100) / 100) for i in range(100)]
garbage = b"\x00garbage\xff" * 3
sent = bad = 0
start = time.perf_counter()
while (now := time.perf_counter() - start) < seconds:
    due = int(now * rate)
    while sent + bad < due:
        if (sent + bad) % 10 == 9:
            sock.sendto(garbage, ("127.0.0.1", port)); bad += 1
        else:
            sock.sendto(valid[sent % 100], ("127.0.0.1", port)); sent += 1
    time.sleep(0.001)
print(sent, bad)
"""


def measure(engine: Engine, seconds: float) -> dict[str, Any]:
    screen = engine.runners["screen"].stats
    screen.latency_ms = Rolling(size=int(seconds * 60) + 64)
    before = screen.frames_in
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        engine.step(0.005)
    return {"p50_ms": screen.latency_ms.percentile(50), "p95_ms": screen.latency_ms.percentile(95),
            "fps": (screen.frames_in - before) / seconds}


def main(seconds: float, rate: float, json_path: Path | None) -> int:
    problem = display_problem()
    private = start_private_display() if problem is not None else None
    if problem is not None and private is None:
        print(f"bench osc needs a display for its window ({problem}); install Xvfb or run under one")
        return 1
    engine = Engine(parse_patch(PATCH, "<bench osc>"), EngineContext(patch_name="bench-osc"), EventLog())
    bridge = OscBridge(engine, OscConfig(listen=("127.0.0.1", 0), query=False))
    try:
        bridge.start()
        engine.start()
        tune_for_real_time()
        port = bridge.server.port
        print(f"bench osc: video patch on {os.environ['DISPLAY']}, OSC on 127.0.0.1:{port}; "
              f"{seconds:g} s quiet, then {seconds:g} s of {rate:g} messages/s from another process", flush=True)
        measure(engine, 1.0)  # warm up
        quiet = measure(engine, seconds)
        print(f"  quiet: p95 {quiet['p95_ms']:.2f} ms at {quiet['fps']:.1f} fps; flooding...", flush=True)
        flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(port), str(rate), str(seconds)],
                                 stdout=subprocess.PIPE, text=True)
        loaded = measure(engine, seconds)
        sent, bad = (int(v) for v in flood.communicate(timeout=seconds + 30)[0].split())
        time.sleep(0.5)
        counts = bridge.server.counts
    finally:
        engine.stop()
        bridge.stop()
        if private is not None:
            private.terminate()
    rows = [dict(phase="quiet", **quiet), dict(phase=f"{rate:g} msg/s", **loaded)]
    print_table("video latency at the window while OSC floods (ms)", rows, [
        ("phase", "phase", "{}"), ("fps", "fps", "{:.1f}"), ("p50 ms", "p50_ms", "{:.2f}"),
        ("p95 ms", "p95_ms", "{:.2f}")])
    received = counts["datagrams"]
    print(f"OSC: sent {sent} valid + {bad} garbage; the server read {received} datagrams "
          f"({received / (sent + bad):.1%}), applied {counts['applied']}, malformed {counts['malformed']}")
    figures = {
        "seconds": seconds, "rate_msgs_per_s": rate,
        "quiet_fps": quiet["fps"], "quiet_p50_ms": quiet["p50_ms"], "quiet_p95_ms": quiet["p95_ms"],
        "flood_fps": loaded["fps"], "flood_p50_ms": loaded["p50_ms"], "flood_p95_ms": loaded["p95_ms"],
        "p95_change_percent": 100 * (loaded["p95_ms"] / quiet["p95_ms"] - 1),
        "sent_valid": sent, "sent_garbage": bad, "datagrams_read": received,
        "applied": counts["applied"], "malformed": counts["malformed"],
    }
    write_json(json_path, figures)
    return 0
