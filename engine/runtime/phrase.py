"""The phrase model's vocabulary, shared by its training (models/phrase/) and
the `phrase` node: a melody as tokens every 20 ms.

- pitch: 0 is a rest, 1..60 the MIDI notes 36..95 (C2..B6);
- loudness: 16 steps of 4 dB from -70 dB (0) to -10 dB (15).
The model reads the previous frame's two tokens (one-hot) and gives logits for
this frame's pitch and loudness; `sample` draws them with a temperature.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.02
LOWEST_MIDI, PITCHES = 36, 61          # rest + 60 notes
LOUDNESS_STEPS, LOUDNESS_FLOOR_DB, LOUDNESS_STEP_DB = 16, -70.0, 4.0
INPUTS = PITCHES + LOUDNESS_STEPS


def pitch_token(f0_hz: np.ndarray) -> np.ndarray:
    f0 = np.asarray(f0_hz, np.float64)
    midi = np.rint(69 + 12 * np.log2(np.maximum(f0, 1e-3) / 440.0))
    return np.where(f0 > 0, np.clip(midi - LOWEST_MIDI + 1, 1, PITCHES - 1), 0).astype(np.int64)


def loudness_token(db: np.ndarray) -> np.ndarray:
    steps = np.floor((np.asarray(db, np.float64) - LOUDNESS_FLOOR_DB) / LOUDNESS_STEP_DB)
    return np.clip(steps, 0, LOUDNESS_STEPS - 1).astype(np.int64)


def f0_of(pitch: np.ndarray) -> np.ndarray:
    pitch = np.asarray(pitch)
    return np.where(pitch > 0, 440.0 * 2 ** ((pitch - 1 + LOWEST_MIDI - 69) / 12), 0.0)


def loudness_of(token: np.ndarray) -> np.ndarray:
    return LOUDNESS_FLOOR_DB + (np.asarray(token, np.float64) + 0.5) * LOUDNESS_STEP_DB


def one_hot(pitch: np.ndarray, loudness: np.ndarray) -> np.ndarray:
    """(frames, INPUTS) float32: the model's input for frames whose previous tokens are these."""
    pitch, loudness = np.atleast_1d(pitch), np.atleast_1d(loudness)
    x = np.zeros((len(pitch), INPUTS), np.float32)
    x[np.arange(len(pitch)), pitch] = 1
    x[np.arange(len(pitch)), PITCHES + loudness] = 1
    return x


def sample(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> tuple[int, int]:
    """(pitch, loudness) drawn from one frame's logits; temperature 0 takes the likeliest."""
    logits = np.asarray(logits, np.float64).ravel()
    out = []
    for part in (logits[:PITCHES], logits[PITCHES:PITCHES + LOUDNESS_STEPS]):
        if temperature <= 1e-3:
            out.append(int(np.argmax(part)))
            continue
        z = part / temperature
        p = np.exp(z - z.max())
        out.append(int(rng.choice(len(p), p=p / p.sum())))
    return out[0], out[1]
