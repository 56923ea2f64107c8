"""`tensorstage bench timbre`: the timbre node live on PipeWire's null sink,
256-frame blocks, the style network painting the test pattern beside it.

A sung-like melody (a generated voice: three harmonics, 5.5 Hz vibrato, notes
with breaths between them; no file needed) stands in for the microphone
through the `audio_file` source; the timbre node plays it as a violin on the
speakers; the microphone records the sink's monitor. Reported: underflows
(the speakers' ring, PortAudio's flags, late callbacks), the input-to-speaker
round trip per note (a note's onset in the input to its onset heard back on
the monitor, so it includes the monitor's capture), the pitch heard back
against the pitch sung (the engine's tracker on both), the style's frame rate,
and the node's processing time per block.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from engine.bench.audio import STYLE, force_quantum, run_for
from engine.bench.report import print_table, write_json

RATE, BLOCK = 48000, 256
MELODY = (67, 69, 71, 72, 74, 72, 71, 69, 67, 62, 64, 66, 67, 71, 69, 67)     # G major, up and back

PATCH = """
[audio]
process = true

[nodes.voice]
type = "audio_file"
path = "{wav}"
block = {block}

[nodes.timbre]
type = "timbre"
block = {block}
inputs.audio = "voice.audio"

[nodes.speakers]
type = "speakers"
device = "pipewire"
block = {block}
inputs.audio = "timbre.audio"

[nodes.mic]
type = "microphone"
device = "pipewire"
block = {block}
channels = 1
"""


def sung_melody(seconds_per_note: float = 0.4, breath_s: float = 0.1) -> np.ndarray:
    """The stand-in singer: each note a voice-like tone with vibrato, a breath of silence after it."""
    parts = []
    for midi in MELODY:
        n = int(seconds_per_note * RATE)
        t = np.arange(n) / RATE
        f0 = 440 * 2 ** ((midi - 69) / 12) * 2 ** (0.2 / 12 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        envelope = np.minimum(1, np.minimum(t / 0.03, (seconds_per_note - t) / 0.05))
        parts.append(0.25 * envelope * sum(np.sin(k * phase) / k for k in (1, 2, 3)))
        parts.append(np.zeros(int(breath_s * RATE)))
    return np.concatenate(parts).astype(np.float32)


def onsets(packets, threshold: float = 0.02, quiet_blocks: int = 8) -> list[float]:
    """Times (engine clock, us) where the sound rises above `threshold` after `quiet_blocks` quiet blocks."""
    out, quiet = [], quiet_blocks
    for p in packets:
        mono = p.value[:, 0]
        loud = np.nonzero(np.abs(mono) > threshold)[0]
        if len(loud) and quiet >= quiet_blocks:
            out.append(p.ts_us + loud[0] * 1e6 / RATE)
        quiet = 0 if len(loud) else quiet + 1
    return out


def pitch_track(packets) -> np.ndarray:
    from engine.audio.tracker import PitchTracker
    tracker = PitchTracker(RATE)
    frames = tracker.feed(np.concatenate([p.value[:, 0] for p in packets]))
    return np.array([f.f0_hz if f.voiced else 0.0 for f in frames])


def run(seconds: float = 60.0, style: bool = True, progress=print) -> dict:
    import soundfile

    from engine.events import EventLog
    from engine.graph import Engine
    from engine.harness import Collector
    from engine.node import EngineContext
    from engine.patch import parse_patch

    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "sung.wav"
        soundfile.write(wav, sung_melody(), RATE)
        text = PATCH.format(wav=wav, block=BLOCK) + (STYLE.format(output=folder) if style else "")
        engine = Engine(parse_patch(text, "<bench timbre>"),
                        EngineContext(patch_name="bench-timbre", headless=True, output_dir=Path(folder)), EventLog())
        sung, heard = Collector(), Collector()
        engine.taps = lambda patch: {("voice", "audio"): [sung], ("mic", "audio"): [heard]}
        engine.start()
        try:
            run_for(engine, 2.0)                                   # settle
            speakers = engine.runners["speakers"].node
            base = (speakers.ring.underflows, speakers.device_underflows, speakers.late_callbacks)
            painted = engine.runners["style"].snapshot()["frames_out"] if style else 0
            sung_from, heard_from = len(sung.packets), len(heard.packets)
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                run_for(engine, min(10.0, seconds - (time.monotonic() - started)))
                progress(f"bench timbre: {time.monotonic() - started:.0f}/{seconds:.0f} s, underflows "
                         f"{speakers.ring.underflows - base[0]}")
            timbre = engine.runners["timbre"].snapshot()
            figures = {
                "seconds": seconds, "block_frames": BLOCK,
                "ring_underflows": speakers.ring.underflows - base[0],
                "device_underflows": speakers.device_underflows - base[1],
                "late_callbacks": speakers.late_callbacks - base[2],
                "timbre_process_p50_ms": timbre["process_p50_ms"], "timbre_process_p95_ms": timbre["process_p95_ms"],
                "timbre_algorithmic_latency_ms": engine.runners["timbre"].node.latency_ms(),
                "style_fps": ((engine.runners["style"].snapshot()["frames_out"] - painted) / seconds) if style else None,
            }
        finally:
            engine.stop()
    figures["xruns"] = max(figures["ring_underflows"], figures["device_underflows"], figures["late_callbacks"])
    # Round trip per note: each sung onset to the next onset heard back within 0.5 s.
    sung_onsets, heard_onsets = onsets(sung.packets[sung_from:]), np.array(onsets(heard.packets[heard_from:]))
    trips = []
    for t in sung_onsets:
        later = heard_onsets[(heard_onsets > t) & (heard_onsets < t + 500_000)]
        if len(later):
            trips.append((later[0] - t) / 1000)
    figures["round_trip_notes"] = len(trips)
    figures["round_trip_p50_ms"] = float(np.median(trips)) if trips else None
    figures["round_trip_p95_ms"] = float(np.percentile(trips, 95)) if trips else None
    # Pitch: heard against sung, lined up at the lag (within 20 ms of the round trip) that agrees best.
    sung_f0, heard_f0 = pitch_track(sung.packets[sung_from:]), pitch_track(heard.packets[heard_from:])

    def cents_at(lag: int) -> np.ndarray:
        n = min(len(sung_f0), len(heard_f0) - lag)
        a, b = sung_f0[:n], heard_f0[lag:lag + n]
        both = (a > 0) & (b > 0)
        return 1200 * np.abs(np.log2(b[both] / a[both])) if both.sum() > 100 else np.array([np.inf])

    centre = int(round((figures["round_trip_p50_ms"] or 0) / 5))
    cents = min((cents_at(lag) for lag in range(max(0, centre - 4), centre + 5)), key=np.median)
    figures["pitch_median_cents"] = float(np.median(cents))
    figures["pitch_over_50_cents_pct"] = float(np.mean(cents > 50) * 100)
    return figures


def main(seconds: float, json_path: Path | None, style: bool = True) -> int:
    import shutil
    import subprocess
    import sys
    if shutil.which("pw-cli") is None or subprocess.run(["pw-cli", "info", "0"], capture_output=True,
                                                        timeout=10).returncode != 0:
        print("tensorstage bench timbre: needs a running PipeWire server (. .ci/services starts one)",
              file=sys.stderr)
        return 1
    force_quantum(BLOCK)
    figures = run(seconds, style)
    rows = [{"figure": k, "value": "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)}
            for k, v in figures.items()]
    print_table(f"timbre live on PipeWire, {BLOCK}-frame blocks, {seconds:g} s"
                + (", style painting beside it" if style else ""), rows,
                [("figure", "figure", "{}"), ("value", "value", "{}")])
    write_json(json_path, figures)
    return 0
