"""`tensorstage bench soak`: a patch runs for minutes or hours under the
engine's supervisor while OSC traffic (parameter writes, scene recalls, model
swaps) and live edits of its file keep it busy; every few seconds the bench
samples the engine's memory, open files, threads and child processes (psutil),
the sinks' frame rates and the speakers' underflows (GET /health), and the
disk used by its output. It reports slopes per hour after a warm-up, and the
worst values.

With `--faults` it also breaks things, one at a time, and times each
recovery: the audio process and the OSC process killed (the engine restarts
them), the engine itself killed (the supervisor restarts it), the display
server restarted (the kiosk window waits for it and opens again) and the
camera's stream cut for a few seconds (the source reconnects).

The default patch is made here: a paced 30 fps stream (ffmpeg) standing in
for the camera, painted by the shipped style network in a kiosk window on a
private Xvfb, beside a tone on the speakers at 256-frame blocks (PipeWire).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import psutil

from engine.bench.fuzz import free_port
from engine.bench.report import print_table, write_json

SOAK_PATCH = """
# The soak bench's show: a paced stream painted by the style network, and a tone.
[patch]
name = "soak"
description = "soak bench: camera stream -> style -> kiosk window; tone -> speakers"

# A paced 30 fps stream (ffmpeg) standing in for the camera; the fault run cuts it.
[nodes.camera]
type = "camera"
device = "udp://127.0.0.1:{stream_port}"
width = 640
height = 480
timeout_s = 1.0

# The shipped style network, swapped between its int8 and float16 files by the bench.
[nodes.style]
type = "style"
inputs.video = "camera.video"
path = "{style_model}"
params.strength = {{ default = {strength}, smoothing_s = 0.3 }}
params.resolution = "256"

# The kiosk window on the bench's private display.
[nodes.screen]
type = "window"
title = "tensorstage-soak"
inputs.video = "style.video"

# A tone, so the speakers run all the time.
[nodes.tone]
type = "tone"
params.level_db = -30.0
params.frequency = 440.0

# The speakers at 256-frame blocks (PipeWire's null sink on a test machine).
[nodes.speakers]
type = "speakers"
block = 256
inputs.audio = "tone.audio"

[scenes.calm]
style.strength = 0.6
tone.frequency = 330.0

[scenes.full]
style.strength = 1.0
tone.frequency = 440.0

[osc]
listen = "127.0.0.1:{osc_port}"
heartbeat_to = ""
"""

SAMPLE_S = 5.0
CHECKPOINT_S = 300.0
FAULTS = ("audio", "osc", "engine", "display", "camera")
RECOVERY_LIMIT_S = 120.0


def slope_per_hour(times_s: list[float], values: list[float]) -> float | None:
    """Least-squares slope, in units per hour."""
    if len(times_s) < 3:
        return None
    n = len(times_s)
    mean_t, mean_v = sum(times_s) / n, sum(values) / n
    spread = sum((t - mean_t) ** 2 for t in times_s)
    if spread == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in zip(times_s, values)) / spread * 3600


class Soak:
    def __init__(self, minutes: float, patch: Path | None, faults: bool, seed: int = 0) -> None:
        self.minutes, self.faults = minutes, faults
        self.random = random.Random(seed)
        self.folder = Path(tempfile.mkdtemp(prefix="tensorstage-soak-"))
        self.osc_port = free_port()
        self.stream_port = free_port()
        self.user_patch = patch
        self.samples: list[dict[str, Any]] = []
        self.recoveries: dict[str, float | None] = {}
        self.counts = {"osc_messages": 0, "scene_recalls": 0, "swaps": 0, "reload_edits": 0}
        self.underflows_by_pid: dict[int, int] = {}
        self.events: list[tuple[float, str]] = []       # (seconds from start, what the traffic did)
        self.started = time.monotonic()
        self._cpu_before = psutil.cpu_times()
        self.stopping = threading.Event()
        self.display: subprocess.Popen | None = None
        self.stream: subprocess.Popen | None = None
        self.supervisor: subprocess.Popen | None = None

    # The show ----------------------------------------------------------------------
    def patch_text(self, strength: float = 1.0, model: str = "style_int8.tflite") -> str:
        from importlib.resources import files
        style = Path(str(files("models.style") / model))
        return SOAK_PATCH.format(stream_port=self.stream_port, osc_port=self.osc_port, style_model=style,
                                 strength=strength)

    def start(self) -> None:
        from engine.display import start_private_display
        self.patch = self.folder / "soak.toml"
        if self.user_patch is None:
            self.display = start_private_display()      # points DISPLAY at it for the engine
            self.start_stream()
            self.patch.write_text(self.patch_text())
        else:
            self.patch.write_text(Path(self.user_patch).read_text())
        from engine.patch import load_patch
        load_patch(self.patch)          # a mistake is said now, not restarted for hours
        command = [sys.executable, "-m", "engine", "run", "--supervise", str(self.patch), "--kiosk", "--quiet",
                   "--osc-in", str(self.osc_port), "--output-dir", str(self.folder / "output"),
                   "--state-dir", str(self.folder / "state")]
        self.supervisor = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.wait_for(lambda h: h.get("up"), 180) is None:
            raise RuntimeError(f"the engine did not come up in 180 s; its log: {self.folder / 'state' / 'logs'}")

    def start_stream(self) -> None:
        self.stream = subprocess.Popen(
            ["ffmpeg", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=30",
             "-c:v", "mpeg2video", "-q:v", "5", "-f", "mpegts", f"udp://127.0.0.1:{self.stream_port}?pkt_size=1316"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.stopping.set()
        if self.supervisor is not None:
            self.supervisor.send_signal(signal.SIGTERM)
            try:
                self.supervisor.wait(30)
            except subprocess.TimeoutExpired:
                self.supervisor.kill()
        for process in (self.stream, self.display):
            if process is not None:
                process.terminate()
                process.wait(10)

    # Looking at it -------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.osc_port}/health", timeout=2) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as error:        # 503: answering, not up
            return json.loads(error.read())
        except (OSError, ValueError):
            return {}

    def wait_for(self, condition: Callable[[dict], Any], limit_s: float) -> float | None:
        """Seconds until `condition(health)` held, or None past the limit."""
        start = time.monotonic()
        while time.monotonic() - start < limit_s:
            answer = self.health()
            if answer and condition(answer):
                return time.monotonic() - start
            time.sleep(0.25)
        return None

    def sample(self, elapsed_s: float) -> None:
        answer = self.health()
        row: dict[str, Any] = {"t_s": round(elapsed_s, 1), "up": bool(answer.get("up"))}
        pid = answer.get("pid")
        if pid:
            try:
                engine = psutil.Process(pid)
                with engine.oneshot():
                    row.update(rss_mb=engine.memory_info().rss / 1e6, fds=engine.num_fds(),
                               threads=engine.num_threads(), children=len(engine.children(recursive=True)))
            except psutil.Error:
                pass
            self.underflows_by_pid[pid] = int(answer.get("underflows", 0))
            row["pid"], row["underflows"] = pid, self.underflows_by_pid[pid]
            row["underflow_kinds"] = answer.get("underflow_kinds", {})
        row["steal_pct"] = self.steal_pct()
        row["fps"] = answer.get("fps", {})
        row["disk_mb"] = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) / 1e6
        self.samples.append(row)

    def steal_pct(self) -> float:
        """Share of the machine's time its host gave to others since the last
        sample (a virtual machine's steal): the engine cannot meet a deadline
        while it is not running at all."""
        now = psutil.cpu_times()
        total = sum(now) - sum(self._cpu_before)
        stolen = getattr(now, "steal", 0.0) - getattr(self._cpu_before, "steal", 0.0)
        self._cpu_before = now
        return round(100 * stolen / total, 2) if total > 0 else 0.0

    def note(self, what: str) -> None:
        self.events.append((round(time.monotonic() - self.started, 1), what))

    # Keeping it busy -------------------------------------------------------------------
    def traffic(self) -> None:
        from pythonosc.udp_client import SimpleUDPClient
        client = SimpleUDPClient("127.0.0.1", self.osc_port)
        started = last_scene = last_swap = last_edit = time.monotonic()
        swap_to = "style_fp16.tflite"
        edits = 0
        while not self.stopping.wait(0.05):           # 20 writes a second
            now = time.monotonic()
            if self.user_patch is None:
                client.send_message("/style/strength", round(self.random.uniform(0.5, 1.0), 3))
                client.send_message("/tone/frequency", round(self.random.uniform(220, 880), 1))
                self.counts["osc_messages"] += 2
            if now - last_scene >= 15:
                last_scene = now
                client.send_message("/scene/recall", self.random.choice(["calm", "full"]))
                self.counts["scene_recalls"] += 1
                self.note("scene")
            if self.user_patch is None and now - last_swap >= 60:
                last_swap = now
                from importlib.resources import files
                client.send_message("/tensorstage/swap", ["style", str(files("models.style") / swap_to)])
                swap_to = "style_int8.tflite" if swap_to == "style_fp16.tflite" else "style_fp16.tflite"
                self.counts["swaps"] += 1
                self.note("swap")
            if self.user_patch is None and now - last_edit >= 90 and now - started > 30:
                last_edit = now
                edits += 1
                text = self.patch_text(strength=0.9 if edits % 2 else 1.0)
                if edits % 4 == 0:
                    text += "\n[nodes.broken\n"          # a broken save: the running patch must stay
                self.patch.write_text(text)
                self.counts["reload_edits"] += 1
                self.note("edit")

    # Breaking it -------------------------------------------------------------------------
    def inject(self, fault: str) -> float | None:
        before = self.health()
        if fault == "audio" and before.get("audio_pid"):
            old = before["audio_pid"]
            os.kill(old, signal.SIGKILL)
            return self.wait_for(lambda h: h.get("audio_pid") not in (0, old) and h.get("fps", {}).get("speakers", 0) > 0,
                                 RECOVERY_LIMIT_S)
        if fault == "osc" and before.get("osc_pid"):
            old = before["osc_pid"]
            os.kill(old, signal.SIGKILL)
            return self.wait_for(lambda h: h.get("osc_pid") not in (0, old), RECOVERY_LIMIT_S)
        if fault == "engine" and before.get("pid"):
            old = before["pid"]
            os.kill(old, signal.SIGKILL)
            return self.wait_for(lambda h: h.get("pid") != old and h.get("up"), RECOVERY_LIMIT_S)
        if fault == "display" and self.display is not None:
            number = os.environ["DISPLAY"]
            self.display.kill()
            self.display.wait(10)
            start = time.monotonic()
            self.display = subprocess.Popen(["Xvfb", number, "-screen", "0", "1280x720x24", "-s", "0", "-nolisten", "tcp"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            back = self.wait_for(lambda h: h.get("fps", {}).get("screen", 0) > 10 and h.get("up"), RECOVERY_LIMIT_S)
            return None if back is None else time.monotonic() - start
        if fault == "camera" and self.stream is not None:
            self.stream.terminate()
            self.stream.wait(10)
            time.sleep(5)                                  # the stream is gone for 5 s
            self.start_stream()
            return self.wait_for(lambda h: h.get("node_fps", {}).get("camera", 0) > 20, RECOVERY_LIMIT_S)
        return None

    # The run ------------------------------------------------------------------------------
    def run(self, progress: Callable[[str], None], checkpoint: Callable[[dict], None] = lambda f: None) -> dict[str, Any]:
        """The soak; `checkpoint` gets the figures so far every CHECKPOINT_S, so
        a run cut short (a machine switched off) still leaves its hours."""
        self.start()
        traffic = threading.Thread(target=self.traffic, name="soak-traffic", daemon=True)
        traffic.start()
        duration = self.minutes * 60
        faults = list(FAULTS) if self.faults else []
        fault_every = duration / (len(faults) + 1) if faults else float("inf")
        started = self.started = time.monotonic()
        next_fault = started + fault_every
        next_sample = started
        next_checkpoint = started + CHECKPOINT_S
        try:
            while (now := time.monotonic()) - started < duration:
                if now >= next_sample:
                    next_sample += SAMPLE_S
                    self.sample(now - started)
                    last = self.samples[-1]
                    progress(f"{(now - started) / 60:5.1f}/{self.minutes:g} min  rss {last.get('rss_mb', 0):.0f} MB"
                             f"  fds {last.get('fds', '-')}  fps {last.get('fps')}")
                if now >= next_checkpoint:
                    next_checkpoint += CHECKPOINT_S
                    checkpoint({**self.figures(), "minutes_run": round((now - started) / 60, 2), "completed": False})
                if faults and now >= next_fault:
                    fault = faults.pop(0)
                    progress(f"fault: {fault}")
                    self.note(f"fault {fault}")
                    self.recoveries[fault] = self.inject(fault)
                    progress(f"fault: {fault} recovered in {self.recoveries[fault]} s")
                    next_fault = time.monotonic() + fault_every
                time.sleep(0.2)
        finally:
            self.stop()
            traffic.join(5)
        return {**self.figures(), "minutes_run": round((time.monotonic() - started) / 60, 2), "completed": True}

    def figures(self) -> dict[str, Any]:
        warm_up = max(60.0, 0.1 * self.minutes * 60)
        steady = [s for s in self.samples if s["t_s"] >= warm_up and "rss_mb" in s] or \
            [s for s in self.samples if "rss_mb" in s]
        figures: dict[str, Any] = {"minutes": self.minutes, "samples": len(self.samples), "warm_up_s": warm_up,
                                   "faults": self.faults}
        times = [s["t_s"] for s in steady]
        for key, unit in (("rss_mb", "mb"), ("fds", "count"), ("threads", "count"), ("children", "count")):
            values = [s[key] for s in steady]
            name = key.removesuffix("_mb")
            figures[f"{name}_slope_{unit}_per_h"] = slope_per_hour(times, values)
            figures[f"{name}_max{'_mb' if unit == 'mb' else ''}"] = max(values) if values else None
            figures[f"{name}_min{'_mb' if unit == 'mb' else ''}"] = min(values) if values else None
        sinks = sorted({name for s in self.samples for name in s["fps"]})
        for sink in sinks:
            rates = [s["fps"][sink] for s in steady if sink in s["fps"]]
            if rates:
                figures[f"{sink}_fps_min"] = min(rates)
                figures[f"{sink}_fps_mean"] = sum(rates) / len(rates)
        if "screen" in sinks:
            rates = [s["fps"].get("screen", 0) for s in steady]
            figures["screen_fps_within_1pct_of_30_fraction"] = sum(abs(r - 30) <= 0.3 for r in rates) / max(1, len(rates))
        figures["underflows"] = sum(self.underflows_by_pid.values())
        figures["engine_processes"] = len(self.underflows_by_pid)
        figures["disk_used_mb_end"] = self.samples[-1]["disk_mb"] if self.samples else None
        figures["not_up_samples"] = sum(not s["up"] for s in self.samples)
        figures.update(self.counts)
        figures.update(self.underflow_causes())
        for fault, seconds in self.recoveries.items():
            figures[f"fault_{fault}_recovery_s"] = seconds
        return figures


    def underflow_causes(self) -> dict[str, Any]:
        """Where the underflows happened: for each sampling interval in which
        the count rose, what the traffic did within it (a swap, an edit, a
        scene recall, a fault) and the host's steal, so a cause can be named."""
        rows: list[dict[str, Any]] = []
        previous: dict[str, Any] | None = None
        for sample in self.samples:
            if "underflows" not in sample:
                continue
            if previous is not None and sample["pid"] == previous["pid"] and sample["underflows"] > previous["underflows"]:
                start, end = previous["t_s"], sample["t_s"]
                kinds = {kind: count - previous["underflow_kinds"].get(kind, 0)
                         for kind, count in sample["underflow_kinds"].items()
                         if count > previous["underflow_kinds"].get(kind, 0)}
                rows.append({"t_s": end, "count": sample["underflows"] - previous["underflows"], "kinds": kinds,
                             "traffic": sorted({what for t, what in self.events if start - 1 <= t <= end}),
                             "steal_pct": sample["steal_pct"]})
            previous = sample
        # The window's samples more than 1 % off 30 fps, with what happened around them.
        dips = [{"t_s": s["t_s"], "fps": s["fps"]["screen"], "steal_pct": s["steal_pct"],
                 "traffic": sorted({what for t, what in self.events if s["t_s"] - SAMPLE_S - 1 <= t <= s["t_s"]})}
                for s in self.samples if "screen" in s["fps"] and abs(s["fps"]["screen"] - 30) > 0.3]
        steals = sorted(s["steal_pct"] for s in self.samples)
        return {"underflow_intervals": rows, "screen_fps_dips": dips,
                "steal_pct_median": steals[len(steals) // 2] if steals else None,
                "steal_pct_max": steals[-1] if steals else None}


def main(minutes: float, patch: Path | None, faults: bool, json_path: Path | None) -> int:
    if patch is None and (shutil.which("ffmpeg") is None or shutil.which("Xvfb") is None):
        print("bench soak needs ffmpeg and Xvfb for its own patch (apt install ffmpeg xvfb), or --patch",
              file=sys.stderr)
        return 2
    soak = Soak(minutes, patch, faults)
    print(f"soak: {minutes:g} min{' with faults' if faults else ''}; files in {soak.folder}", file=sys.stderr)
    figures = soak.run(lambda line: print(f"soak: {line}", file=sys.stderr, flush=True),
                       lambda so_far: write_json(json_path, so_far))
    rows = [{"what": key, "value": value} for key, value in figures.items() if not isinstance(value, list)]
    print_table(f"soak of {patch or 'the soak patch'} ({minutes:g} min)", rows,
                [("figure", "what", "{}"), ("value", "value", "{}")])
    for row in figures["underflow_intervals"]:
        print(f"soak: {row['count']} underflow(s) by {row['t_s']:.0f} s, kinds {row['kinds']}, "
              f"traffic {row['traffic'] or 'none'}, host steal {row['steal_pct']} %", file=sys.stderr)
    write_json(json_path, figures)
    failed = [fault for fault, seconds in soak.recoveries.items() if seconds is None]
    if failed:
        print(f"soak: not recovered within {RECOVERY_LIMIT_S:g} s: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
