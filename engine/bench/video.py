"""`tensorstage bench video`: glass-to-glass latency measured from pixels.

A test pattern burns its engine-clock time into every frame; the frames go
through a patch to a real window; another thread grabs the window's pixels from
the X server as fast as it can (XShm, ~0.2 ms a grab) and decodes the time. The
first grab in which a frame appears, minus the time burned into it, is that
frame's glass-to-glass latency (resolution: one grab interval, about 1 ms).

Two patches: a pass-through, and one with a node slower than a frame (a stall
of `--slow-ms`), which must lower the frame rate without letting latency grow.
Then, where cyndilib is installed, the NDI rows (engine/bench/ndi.py): the
latency and CPU that NDI out and in add, at 720p and 1080p.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine import timecode
from engine.bench.report import print_table, write_json
from engine.clock import now_us
from engine.display import display_problem, run_in_fresh_process, start_private_display
from engine.events import EventLog
from engine.graph import Engine
from engine.node import EngineContext
from engine.patch import parse_patch
from engine.realtime import tune_for_real_time

TITLE = "tensorstage-bench-video-{}"

PATCH = """
[nodes.pattern]
type = "test_pattern"
width = {width}
height = {height}
fps = {fps}
{middle}
[nodes.screen]
type = "window"
title = "{title}"
no_signal_s = 0.0
inputs.video = "{last}.video"
"""

STALL = """
[nodes.stall]
type = "stall"
inputs.video = "pattern.video"
params.ms = {ms}
"""


class WindowGrabber(threading.Thread):
    """Grabs a screen rectangle in a loop; remembers when each timestamp first showed."""

    def __init__(self) -> None:
        super().__init__(name="bench-grab", daemon=True)
        self.rect: tuple[int, int, int, int] | None = None
        self.first_seen: dict[int, int] = {}
        self.grabs = 0
        self.decoded = 0
        self._done = threading.Event()

    def run(self) -> None:
        import mss
        with (getattr(mss, "MSS", None) or mss.mss)() as screen:
            while not self._done.is_set():
                rect = self.rect
                if rect is None:
                    time.sleep(0.01)
                    continue
                before = now_us()
                image = np.asarray(screen.grab({"left": rect[0], "top": rect[1],
                                                "width": rect[2], "height": rect[3]}))
                after = now_us()
                self.grabs += 1
                ts = timecode.read(image)
                if ts is not None:
                    self.decoded += 1
                    self.first_seen.setdefault(ts, (before + after) // 2)
                time.sleep(0.0005)

    def stop(self) -> None:
        self._done.set()
        self.join(5)


def run_scenario(name: str, patch_text: str, seconds: float) -> dict[str, Any]:
    import cv2

    engine = Engine(parse_patch(patch_text, f"<bench {name}>"), EngineContext(patch_name=name),
                    EventLog())
    grabber = WindowGrabber()
    engine.start()
    tune_for_real_time()
    grabber.start()
    title = TITLE.format(name)
    started = time.monotonic()
    next_report = started + 5
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            engine.step(0.005)
            x, y, w, h = cv2.getWindowImageRect(title)
            grabber.rect = (x, y, w, h) if w > 0 and h > 0 else None
            if time.monotonic() >= next_report:
                next_report += 5
                print(f"  {name}: {elapsed:4.0f}/{seconds:g} s, {len(grabber.first_seen)} frames seen on screen",
                      flush=True)
    finally:
        grabber.stop()
        engine.stop()
    return summarize(name, grabber, engine.snapshot(), seconds)


def summarize(name: str, grabber: WindowGrabber, nodes: dict[str, dict[str, Any]],
              seconds: float) -> dict[str, Any]:
    seen = sorted(grabber.first_seen.items(), key=lambda item: item[1])
    latencies = np.array([timecode.age_ms(ts, shown) for ts, shown in seen])
    shown_at = np.array([shown for _, shown in seen], dtype=np.int64)
    result: dict[str, Any] = {
        "scenario": name,
        "frames_seen": len(seen),
        "fps": len(seen) / seconds if seconds else 0.0,
        "p50_ms": float(np.percentile(latencies, 50)) if len(seen) else None,
        "p95_ms": float(np.percentile(latencies, 95)) if len(seen) else None,
        "growth_ms": None,
        "dropped": sum(f["dropped"] for f in nodes.values()),
        "grabs": grabber.grabs,
        "decoded_fraction": grabber.decoded / grabber.grabs if grabber.grabs else 0.0,
    }
    if len(seen) > 20:
        window_us = int(min(5.0, seconds / 3) * 1e6)
        early = latencies[shown_at < shown_at[0] + window_us]
        late = latencies[shown_at > shown_at[-1] - window_us]
        result["growth_ms"] = float(np.median(late) - np.median(early))
    return result


def main(seconds: float, slow_ms: float, width: int, height: int, fps: float, json_path: Path | None,
         ndi_seconds: float = 8.0) -> int:
    try:
        import mss  # noqa: F401 - read here so a missing one is said before anything starts
    except ImportError:
        print("bench video grabs the screen with mss: pip install 'tensorstage[bench]'")
        return 1
    problem = display_problem()
    private = start_private_display() if problem is not None else None
    if problem is not None:
        if private is None:
            print(f"bench video needs a display to grab pixels from ({problem}); install Xvfb or run under one")
            return 1
        print(f"{problem}: started a private Xvfb on {os.environ['DISPLAY']} for the benchmark")
    try:
        common = dict(width=width, height=height, fps=fps)
        scenarios = [
            ("passthrough", PATCH.format(middle="", last="pattern", title=TITLE.format("passthrough"), **common)),
            ("slow", PATCH.format(middle=STALL.format(ms=slow_ms), last="stall", title=TITLE.format("slow"),
                                  **common)),
        ]
        print(f"bench video: {width}x{height} test pattern at {fps:g} fps into a window on "
              f"{os.environ['DISPLAY']}, {seconds:g} s per scenario; slow = a {slow_ms:g} ms node")
        results = [run_in_fresh_process(run_scenario, name, text, seconds) for name, text in scenarios]
        ndi_results = _ndi_rows(fps, ndi_seconds)
    finally:
        if private is not None:
            private.terminate()
    print_table("glass-to-glass latency, from pixels (ms)", results, [
        ("scenario", "scenario", "{}"), ("fps", "fps", "{:.1f}"), ("p50 ms", "p50_ms", "{:.1f}"),
        ("p95 ms", "p95_ms", "{:.1f}"), ("growth ms", "growth_ms", "{:+.1f}"), ("dropped", "dropped", "{}"),
        ("frames seen", "frames_seen", "{}"), ("decoded", "decoded_fraction", "{:.0%}")])
    if ndi_results:
        print_table("NDI out and back in on this machine (added latency from pixels, ms; CPU of both ends)",
                    ndi_results, [
                        ("scenario", "scenario", "{}"), ("fps", "fps", "{:.1f}"), ("p50 ms", "p50_ms", "{:.1f}"),
                        ("p95 ms", "p95_ms", "{:.1f}"), ("CPU ms/frame", "cpu_ms_per_frame", "{:.2f}"),
                        ("send ms", "send_p50_ms", "{:.2f}"), ("frames", "frames", "{}")])
    results += ndi_results
    figures: dict[str, Any] = {"seconds": seconds, "ndi_seconds": ndi_seconds if ndi_results else None,
                               "slow_node_ms": slow_ms, "width": width, "height": height,
                               "source_fps": fps}
    for result in results:
        name = result["scenario"]
        figures.update({f"{name}_{key}": value for key, value in result.items() if key != "scenario"})
    write_json(json_path, figures)
    return 0


def _ndi_rows(fps: float, seconds: float) -> list[dict[str, Any]]:
    if seconds <= 0:
        return []
    try:
        import cyndilib  # noqa: F401 - read here so a missing one is said, not failed on
    except ImportError:
        from engine.ndi import INSTALL_HINT
        print(f"NDI rows skipped: cyndilib is not installed; {INSTALL_HINT}")
        return []
    from engine.bench.ndi import rows
    return rows([(1280, 720), (1920, 1080)], fps, seconds)
