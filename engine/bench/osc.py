"""`tensorstage bench osc`: does an OSC flood disturb the video?

A patch of real video nodes (test pattern -> colour -> trail -> window, with
analysis) and, when PipeWire runs, the audio bench's tone -> speakers and
microphone (quantum forced to 256) runs with its OSC server on; first `--seconds` undisturbed, then the
same while another process sends `--rate` valid parameter messages a second (one
in ten with garbage mixed in). The video's latency at the window (p50, p95) and
its frame rate are compared, and the server's counters are checked against what
was sent; audio xruns are counted from the recording as in `bench audio`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.bench.audio import AUDIO, dropouts, force_quantum
from engine.bench.report import print_table, write_json
from engine.display import display_problem, start_private_display
from engine.events import EventLog
from engine.graph import Engine
from engine.harness import Collector
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


def measure(engine: Engine, seconds: float, heard: list | None) -> dict[str, Any]:
    screen = engine.runners["screen"].stats
    screen.latency_ms = Rolling(size=int(seconds * 60) + 64)
    before = screen.frames_in
    heard_from = len(heard) if heard is not None else 0
    speakers = engine.runners["speakers"].node if "speakers" in engine.runners else None
    ring_before = speakers.ring.underflows if speakers else 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        engine.step(0.005)
    result = {"p50_ms": screen.latency_ms.percentile(50), "p95_ms": screen.latency_ms.percentile(95),
              "fps": (screen.frames_in - before) / seconds, "xruns_256": None}
    if heard is not None and len(heard) > heard_from:
        audio = np.concatenate([packet.value[:, 0] for packet in heard[heard_from:]])
        result["xruns_256"] = max(dropouts(audio), speakers.ring.underflows - ring_before)
    return result


def main(seconds: float, rate: float, json_path: Path | None, server: str = "thread") -> int:
    problem = display_problem()
    private = start_private_display() if problem is not None else None
    if problem is not None and private is None:
        print(f"bench osc needs a display for its window ({problem}); install Xvfb or run under one")
        return 1
    figures: dict = {"seconds": seconds, "rate_msgs_per_s": rate}
    try:
        for kind in (("thread", "process") if server == "both" else (server,)):
            result = run_kind(kind, seconds, rate)
            prefix = "" if kind == "thread" else "process_"
            figures.update({f"{prefix}{k}": v for k, v in result.items()})
    finally:
        if private is not None:
            private.terminate()
    write_json(json_path, figures)
    return 0


def run_kind(kind: str, seconds: float, rate: float) -> dict:
    """Quiet, then flooded, with the OSC server in a thread or in its own process."""
    with_audio = shutil.which("pw-cli") is not None and subprocess.run(
        ["pw-cli", "info", "0"], capture_output=True, timeout=10).returncode == 0
    text = PATCH + (AUDIO.format(block=256) if with_audio else "")
    engine = Engine(parse_patch(text, "<bench osc>"), EngineContext(patch_name="bench-osc"), EventLog())
    recorded = Collector()
    heard = recorded.packets if with_audio else None
    bridge = OscBridge(engine, OscConfig(listen=("127.0.0.1", 0), query=False, process=kind == "process"))
    if with_audio:
        engine.taps = lambda patch: {("mic", "audio"): [recorded]}  # the bridge sends nothing, so adds no taps
    try:
        if with_audio:
            force_quantum(256)
        bridge.start()
        engine.start()
        tune_for_real_time()
        if with_audio:
            engine.store.set("tone/level_db", -12.0, fade_s=0)
        port = bridge.server.port
        print(f"bench osc ({kind} server): video patch on {os.environ['DISPLAY']}, OSC on 127.0.0.1:{port}; "
              f"{seconds:g} s quiet, then {seconds:g} s of {rate:g} messages/s from another process", flush=True)
        measure(engine, 2.0, heard)  # warm up
        quiet = measure(engine, seconds, heard)
        print(f"  quiet: p95 {quiet['p95_ms']:.2f} ms at {quiet['fps']:.1f} fps; flooding...", flush=True)
        flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(port), str(rate), str(seconds)],
                                 stdout=subprocess.PIPE, text=True)
        loaded = measure(engine, seconds, heard)
        sent, bad = (int(v) for v in flood.communicate(timeout=seconds + 30)[0].split())
        settle = time.monotonic() + 3.0
        while time.monotonic() < settle and bridge.server.counts["datagrams"] < sent + bad:
            time.sleep(0.1)          # the process server forwards its counts every few ms
        counts = bridge.server.counts
    finally:
        engine.stop()
        bridge.stop()
        if with_audio:
            force_quantum(0)
    rows = [dict(phase="quiet", **quiet), dict(phase=f"{rate:g} msg/s", **loaded)]
    print_table(f"video latency at the window while OSC floods (ms), OSC server in a {kind}", rows, [
        ("phase", "phase", "{}"), ("fps", "fps", "{:.1f}"), ("p50 ms", "p50_ms", "{:.2f}"),
        ("p95 ms", "p95_ms", "{:.2f}"), ("audio xruns (256)", "xruns_256", "{}")])
    received = counts["datagrams"]
    print(f"OSC: sent {sent} valid + {bad} garbage; the server read {received} datagrams "
          f"({received / (sent + bad):.1%}), applied {counts['applied']}, malformed {counts['malformed']}")
    return {
        "quiet_fps": quiet["fps"], "quiet_p50_ms": quiet["p50_ms"], "quiet_p95_ms": quiet["p95_ms"],
        "flood_fps": loaded["fps"], "flood_p50_ms": loaded["p50_ms"], "flood_p95_ms": loaded["p95_ms"],
        "quiet_xruns_256": quiet["xruns_256"], "flood_xruns_256": loaded["xruns_256"],
        "p95_change_percent": 100 * (loaded["p95_ms"] / quiet["p95_ms"] - 1),
        "sent_valid": sent, "sent_garbage": bad, "datagrams_read": received,
        "applied": counts["applied"], "malformed": counts["malformed"],
    }
