"""`tensorstage bench audio`: does the sound glitch, idle and under load?

On a clocked PipeWire device with its quantum forced to the block size, a tone
plays through the speakers sink (safety included) while the microphone source
records the sink's monitor, on two streams (what the engine opens on PipeWire)
or, with `--streams duplex|both`, one duplex stream; the streams run in the
audio process (the engine's design) or, with `--design inprocess|both`, in the
engine's process. Each phase reports: underflows the speakers' ring saw,
underflows PortAudio flagged, dropouts found in the recording itself (the
truth: PortAudio's flags undercount), callback period jitter, and the round
trip from raising the tone's level to hearing it. Under load, the engine's
process also runs a video patch, a 4.3 GFLOP int8 LiteRT model on one thread at
full rate, and a thread of pure Python work, with the GIL switch interval at
1 ms and the heap frozen after start (engine/realtime.py).
At 256 frames a third phase plays the live style patch beside the audio: the
test pattern painted by the shipped style model (one thread, as the style node
chooses when audio runs) into a recorded window, and reports its frame rate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.audio.host import audio_host
from engine.bench.report import print_table, write_json
from engine.clock import now_us
from engine.events import EventLog
from engine.graph import Engine
from engine.harness import Collector
from engine.node import EngineContext
from engine.patch import parse_patch
from engine.realtime import tune_for_real_time

RATE = 48000
MODEL = Path(__file__).resolve().parents[2] / "models" / "bench" / "convnet_int8.tflite"

AUDIO = """
[nodes.tone]
type = "tone"
block = {block}
params.frequency = 1000.0
params.level_db = -90.0

[nodes.speakers]
type = "speakers"
device = "pipewire"
block = {block}
inputs.audio = "tone.audio"

[nodes.mic]
type = "microphone"
device = "pipewire"
block = {block}
"""

VIDEO = """
[nodes.pattern]
type = "test_pattern"
width = 640
height = 480

[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"

[nodes.trail]
type = "trail"
inputs.video = "color.video"

[nodes.screen]
type = "window"
inputs.video = "trail.video"
path = "{output}/bench-audio.mp4"
"""


STYLE = """
[nodes.pattern]
type = "test_pattern"
width = 640
height = 480

[nodes.style]
type = "style"
inputs.video = "pattern.video"

[nodes.screen]
type = "window"
inputs.video = "style.video"
path = "{output}/bench-audio-style.mp4"
"""
STYLE_MODEL = Path(__file__).resolve().parents[2] / "models" / "style" / "style_int8.tflite"


class Load:
    """A LiteRT model at full rate on one thread, and a thread of Python work."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.inferences = 0
        self.python_loops = 0
        self.threads = [threading.Thread(target=self._model, name="load-model", daemon=True),
                        threading.Thread(target=self._python, name="load-python", daemon=True)]

    def start(self) -> None:
        self.running.set()
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(5)

    def _model(self) -> None:
        from ai_edge_litert.interpreter import Interpreter
        interpreter = Interpreter(str(MODEL), num_threads=1)
        interpreter.allocate_tensors()
        source = interpreter.get_input_details()[0]
        target = interpreter.get_output_details()[0]
        frame = np.random.default_rng(0).integers(0, 255, source["shape"], dtype=np.uint8)
        while self.running.is_set():
            interpreter.set_tensor(source["index"], frame)
            interpreter.invoke()
            interpreter.get_tensor(target["index"]).copy()
            self.inferences += 1

    def _python(self) -> None:
        table: dict[int, int] = {}
        while self.running.is_set():
            for i in range(20_000):       # about a millisecond holding the GIL
                table[i % 512] = i
            self.python_loops += 1
            time.sleep(0.002)


def dropouts(audio: np.ndarray, threshold: float = 0.01, min_run: int = 8) -> int:
    """Runs of near-silence inside a steady tone: each is a glitch someone hears."""
    quiet = np.abs(audio) < threshold
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return int(np.sum(ends - starts >= min_run))


def force_quantum(frames: int) -> bool:
    if shutil.which("pw-metadata") is None:
        return False
    return subprocess.run(["pw-metadata", "-n", "settings", "0", "clock.force-quantum", str(frames)],
                          capture_output=True, timeout=10).returncode == 0


def run_phase(block: int, loaded: bool, seconds: float, output: str, style: bool = False,
              duplex: bool = True, buffer_blocks: int = 4, process: bool = True,
              realtime: bool = True) -> dict[str, Any]:
    video = STYLE if style else VIDEO if loaded else ""
    audio = AUDIO.format(block=block).replace(
        'device = "pipewire"', f'device = "pipewire"\nduplex = {str(duplex).lower()}\nbuffer_blocks = {buffer_blocks}')
    text = (f"[audio]\nprocess = {str(process).lower()}\nrealtime = {str(realtime).lower()}\n"
            + audio + video.format(output=output))
    loaded = loaded and not style
    engine = Engine(parse_patch(text, f"<bench audio {block}>"),
                    EngineContext(patch_name="bench-audio", headless=True, output_dir=Path(output)), EventLog())
    recorded = Collector()
    heard = recorded.packets
    engine.taps = lambda patch: {("mic", "audio"): [recorded]}
    load = Load() if loaded else None
    engine.start()
    tune_for_real_time()
    audio_pid = audio_host(in_process=False).pid if process else 0
    if load:
        load.start()
    try:
        run_for(engine, 1.5)                                    # settle
        on_us = now_us()
        engine.store.set("tone/level_db", -12.0, fade_s=0)
        run_for(engine, 1.0)
        speakers = engine.runners["speakers"].node
        base_ring, base_device, base_late = speakers.ring.underflows, speakers.device_underflows, \
            speakers.late_callbacks
        mic = engine.runners["mic"].node
        base_input = mic.overflows + mic.ring.overflows
        start_count = speakers.callbacks
        heard_from = len(heard)
        painted_before = engine.runners["style"].snapshot()["frames_out"] if style else 0
        cpu_before = cpu_seconds(audio_pid)
        run_for(engine, seconds)
        figures = {
            "style_fps": ((engine.runners["style"].snapshot()["frames_out"] - painted_before) / seconds
                          if style else None),
            "style_p95_ms": engine.runners["style"].snapshot()["process_p95_ms"] if style else None,
            "ring_underflows": speakers.ring.underflows - base_ring,
            "device_underflows": speakers.device_underflows - base_device,
            "late_callbacks": speakers.late_callbacks - base_late,
            # A gap heard with no output underflow may be the recording's: the
            # microphone's late callbacks (PortAudio's flag) or a full ring.
            "input_overflows": mic.overflows + mic.ring.overflows - base_input,
            "callbacks": speakers.callbacks - start_count,
            "inferences_per_s": (load.inferences / (seconds + 2.5)) if load else 0.0,
            # What the audio process costs (None in-process): a share of one core, and its memory.
            "audio_process_cpu_pct": (100 * (cpu_seconds(audio_pid) - cpu_before) / seconds) if process else None,
            "audio_process_rss_mb": resident_mb(audio_pid) if process else None,
        }
        times = speakers.memory.callback_times_us()
    finally:
        if load:
            load.stop()
        engine.stop()
    periods_ms = np.diff(np.sort(times)) / 1000
    audio = np.concatenate([p.value[:, 0] for p in heard[heard_from:]]) if len(heard) > heard_from else np.zeros(1)
    loud = next((i for i, p in enumerate(heard) if np.abs(p.value).max() > 0.05), None)
    round_trip = None
    if loud is not None:
        offset = int(np.argmax(np.abs(heard[loud].value[:, 0]) > 0.05))
        round_trip = (heard[loud].ts_us + offset * 1e6 / RATE - on_us) / 1000
    figures.update({
        "dropouts": dropouts(audio), "recorded_s": len(audio) / RATE,
        "period_p50_ms": float(np.percentile(periods_ms, 50)) if len(periods_ms) else None,
        "period_p99_ms": float(np.percentile(periods_ms, 99)) if len(periods_ms) else None,
        "period_max_ms": float(periods_ms.max()) if len(periods_ms) else None,
        "round_trip_ms": round_trip,
    })
    figures["xruns"] = max(figures["dropouts"], figures["ring_underflows"], figures["device_underflows"],
                           figures["late_callbacks"])
    return figures


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (0 for none)."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_for(engine: Engine, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        engine.step(0.01)


def live_beside_style(patch: str, name: str, seconds: float, progress: Callable[[str], None] = print,
                      counters: Callable[[Engine], dict[str, int]] | None = None) -> dict[str, Any]:
    """A generator patch (its sink the `speakers` node) on PipeWire at 256-frame
    blocks with the style network painting beside it, for `seconds` after 2 s
    to settle: ring and device underflows, late callbacks, the style's frame
    rate, and what `counters(engine)` counts (differences, end less start)."""
    force_quantum(256)
    count = counters or (lambda engine: {})
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine(parse_patch(patch + STYLE.format(output=folder), f"<bench {name}>"),
                        EngineContext(patch_name=f"bench-{name}", headless=True, output_dir=Path(folder)),
                        EventLog())
        engine.start()
        try:
            run_for(engine, 2.0)
            speakers = engine.runners["speakers"].node

            def figures() -> dict[str, int]:
                return {"ring_underflows": speakers.ring.underflows, "device_underflows": speakers.device_underflows,
                        "late_callbacks": speakers.late_callbacks, **count(engine)}
            before, painted = figures(), engine.runners["style"].snapshot()["frames_out"]
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                run_for(engine, min(10.0, seconds - (time.monotonic() - started)))
                progress(f"bench {name}: live {time.monotonic() - started:.0f}/{seconds:.0f} s, underflows "
                         f"{speakers.ring.underflows - before['ring_underflows']}")
            after = figures()
            out: dict[str, Any] = {"live_seconds": seconds, "live_block_frames": 256}
            out.update({f"live_{key}": after[key] - before[key] for key in after})
            out["live_style_fps"] = (engine.runners["style"].snapshot()["frames_out"] - painted) / seconds
        finally:
            engine.stop()
    out["live_xruns"] = max(out["live_ring_underflows"], out["live_device_underflows"], out["live_late_callbacks"])
    return out


def generator_bench(name: str, title: str, measure: Callable[[], dict[str, Any]], patch: str, seconds: float,
                    json_path: Path | None, with_live: bool = True,
                    counters: Callable[[Engine], dict[str, int]] | None = None) -> int:
    """A model family's generator bench: `measure()` pinned to one core (as on
    stage beside the video), then, unless `with_live` is off, the patch live
    beside the style network (live_beside_style); one table, one JSON."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        figures = measure()
    finally:
        os.sched_setaffinity(0, cpus)
    if with_live:
        if not pipewire_running():
            print(f"tensorstage bench {name}: the live part needs a running PipeWire server (. .ci/services "
                  "starts one); --no-live skips it", file=sys.stderr)
            return 1
        figures.update(live_beside_style(patch, name, seconds, counters=counters))
    rows = [{"figure": k, "value": f"{v:.2f}" if isinstance(v, float) else str(v)} for k, v in figures.items()]
    print_table(title + (f"; live {seconds:g} s at 256 frames beside the style network" if with_live else ""),
                rows, [("figure", "figure", "{}"), ("value", "value", "{}")])
    write_json(json_path, figures)
    return 0


def pipewire_running() -> bool:
    return shutil.which("pw-cli") is not None and \
        subprocess.run(["pw-cli", "info", "0"], capture_output=True, timeout=10).returncode == 0


def main(seconds: float, blocks: list[int], json_path: Path | None, design: str = "process",
         streams: str = "two", buffer_blocks: int = 4, realtime: bool = True) -> int:
    if shutil.which("pw-cli") is None or subprocess.run(["pw-cli", "info", "0"], capture_output=True,
                                                        timeout=10).returncode != 0:
        print("bench audio needs PipeWire running (a clocked device to measure against): `. .ci/services`")
        return 1
    rows, figures = [], {"seconds": seconds, "design": design, "streams": streams, "buffer_blocks": buffer_blocks,
                         "realtime": realtime}
    # (in the audio process?, duplex, key prefix, label): the engine's own way first,
    # unprefixed; the in-process design runs with the GIL switch at 1 ms and the heap frozen.
    variants = [(process, duplex, ("" if process else "inprocess_") + ("duplex_" if duplex else ""),
                 ("" if process else " (in-process)") + (" (duplex)" if duplex else ""))
                for process in {"process": [True], "inprocess": [False], "both": [True, False]}[design]
                for duplex in {"two": [False], "duplex": [True], "both": [False, True]}[streams]]
    with tempfile.TemporaryDirectory() as output:
        try:
            for block in blocks:
                forced = force_quantum(block)
                for process, duplex, design_prefix, suffix in variants:
                    phases = [("idle", False, False), ("load", True, False)]
                    if not design_prefix and block == 256 and STYLE_MODEL.exists():
                        phases.append(("style", True, True))
                    for name, loaded, style in phases:
                        label = f"{block} {name}{suffix}"
                        print(f"  {label}: {seconds:g} s ...", flush=True)
                        result = run_phase(block, loaded, seconds, output, style, duplex, buffer_blocks, process,
                                           realtime)
                        rows.append({"phase": label, "forced": forced, **result})
                        prefix = design_prefix + {"idle": "idle_", "load": "", "style": "style_"}[name]
                        figures[f"{prefix}xruns_{block}"] = result["xruns"]
                        if style:
                            figures["style_fps"] = result["style_fps"]
                            figures["style_p95_ms"] = result["style_p95_ms"]
                        for key in ("dropouts", "ring_underflows", "device_underflows", "late_callbacks",
                                    "input_overflows",
                                    "audio_process_cpu_pct", "audio_process_rss_mb", "period_p50_ms",
                                    "period_p99_ms", "period_max_ms", "round_trip_ms"):
                            figures[f"{design_prefix}{name}_{block}_{key}"] = result[key]
                        if name == "load":
                            figures[f"{design_prefix}load_{block}_inferences_per_s"] = result["inferences_per_s"]
        finally:
            force_quantum(0)
    print_table(f"audio on PipeWire, {seconds:g} s per phase, {buffer_blocks}-period buffers, audio process at "
                f"{'real-time' if realtime else 'normal'} priority (xruns = the most of: dropouts heard in the "
                "recording, ring underflows, PortAudio underflows, late callbacks)", rows, [
        ("phase", "phase", "{}"), ("xruns", "xruns", "{}"), ("dropouts", "dropouts", "{}"),
        ("ring", "ring_underflows", "{}"), ("portaudio", "device_underflows", "{}"), ("late", "late_callbacks", "{}"),
        ("in overflows", "input_overflows", "{}"),
        ("period p50", "period_p50_ms", "{:.2f}"), ("p99", "period_p99_ms", "{:.2f}"),
        ("max ms", "period_max_ms", "{:.1f}"), ("round trip ms", "round_trip_ms", "{:.1f}"),
        ("model/s", "inferences_per_s", "{:.0f}"), ("style fps", "style_fps", "{:.1f}"),
        ("audio cpu %", "audio_process_cpu_pct", "{:.1f}"), ("audio MB", "audio_process_rss_mb", "{:.0f}")])
    write_json(json_path, figures)
    return 0
