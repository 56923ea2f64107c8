"""`tensorstage bench phrase`: how fast the phrase RNN composes, and call and
response live.

1. Composing, the process pinned to one core: the node's own composer (its
   worker thread, the shipped LiteRT model) primed with 8 s of a heard melody
   and asked for one second of controls (50 frames of 20 ms), 20 times: ms per
   second of controls (mean, p95), the time to the answer's first frame, and
   how many times faster than real time.
2. Live (unless --no-live): the phrase node in continue mode (no microphone),
   played by the timbre model on PipeWire's null sink at 256-frame blocks, the
   style network painting beside it, for `--seconds`: underflows, late
   callbacks, the style's frame rate.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.runtime import phrase

SECOND_FRAMES = round(1.0 / phrase.FRAME_S)
HEARD_FRAMES = round(8.0 / phrase.FRAME_S)
REPEATS = 20
PATCH = """
[audio]
process = true

[nodes.answer]
type = "phrase"
play = "controls"
block = 256
params.mode = "continue"

[nodes.speakers]
type = "speakers"
device = "pipewire"
block = 256
inputs.audio = "answer.audio"
"""


def heard_melody() -> list[tuple[int, int]]:
    """8 s of a G major scale up and down, a note every 0.25 s (tokens, as the node keeps what it heard)."""
    steps = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2]
    midi = [67 + steps[(i // round(0.25 / phrase.FRAME_S)) % len(steps)] for i in range(HEARD_FRAMES)]
    pitch = phrase.pitch_token(440.0 * 2 ** ((np.array(midi) - 69) / 12))
    loudness = phrase.loudness_token(np.full(HEARD_FRAMES, -20.0))
    return list(zip(pitch.tolist(), loudness.tolist()))


def composing() -> dict:
    from engine.processors.phrase import SHIPPED, Composer

    composer = Composer(SHIPPED, threads=1)
    heard = heard_melody()
    try:
        total_ms, first_ms = [], []
        for _ in range(REPEATS):
            composer.stop()
            started = time.perf_counter()
            composer.answer(heard, SECOND_FRAMES, 0.8)
            first = None
            while len(composer.queue) < SECOND_FRAMES:
                if first is None and composer.queue:
                    first = time.perf_counter()
                time.sleep(0.0002)
            done = time.perf_counter()
            first_ms.append(((first or done) - started) * 1e3)
            total_ms.append((done - started) * 1e3)
    finally:
        composer.close()
    # Priming (8 s heard) and composing (1 s) are two parts of `total`; one second alone, after priming:
    per_second = np.array(total_ms) - np.array(first_ms)
    return {"heard_s": HEARD_FRAMES * phrase.FRAME_S, "answer_total_ms": float(np.mean(total_ms)),
            "answer_total_p95_ms": float(np.percentile(total_ms, 95)),
            "first_frame_ms": float(np.mean(first_ms)),
            "compose_1s_ms": float(np.mean(per_second)), "compose_1s_p95_ms": float(np.percentile(per_second, 95)),
            "compose_x_realtime": 1000.0 / float(np.mean(per_second))}


def main(seconds: float, json_path: Path | None, with_live: bool = True) -> int:
    from engine.bench.audio import generator_bench
    return generator_bench("phrase", "phrase RNN: composing on one core (primed with 8 s heard, 1 s of controls "
                           "asked)", composing, PATCH, seconds, json_path, with_live)
