"""The phrase model's vocabulary, shared by its training (models/phrase/) and
the `phrase` node: a melody as tokens every 20 ms.

- pitch: 0 is a rest, 1..60 the MIDI notes 36..95 (C2..B6);
- loudness: 16 steps of 4 dB from -70 dB (0) to -10 dB (15).
The model reads the previous frame's two tokens (one-hot) and the key heard so
far (a pitch-class profile decaying over about 4 s: what a listener's sense of
key is made of), and gives logits for this frame's pitch and loudness;
`sample` draws them with a temperature. Without the profile the first model
kept to intervals and wandered out of key within a few notes.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.02
LOWEST_MIDI, PITCHES = 36, 61          # rest + 60 notes
LOUDNESS_STEPS, LOUDNESS_FLOOR_DB, LOUDNESS_STEP_DB = 16, -70.0, 4.0
KEY_S = 4.0
INPUTS = PITCHES + LOUDNESS_STEPS + 12
TOP_P = 0.9


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


def pitch_class(pitch) -> np.ndarray:
    return (np.asarray(pitch) - 1 + LOWEST_MIDI) % 12


class KeyProfile:
    """The pitch classes heard, each frame's weight decaying with a time constant of KEY_S."""
    DECAY = float(np.exp(-FRAME_S / KEY_S))

    def __init__(self, profile: np.ndarray | None = None) -> None:
        self.profile = np.zeros(12) if profile is None else np.asarray(profile, np.float64).copy()

    def add(self, pitch: int) -> None:
        self.profile *= self.DECAY
        if pitch > 0:
            self.profile[pitch_class(pitch)] += 1.0

    def normalised(self) -> np.ndarray:
        total = self.profile.sum()
        return self.profile / total if total > 0 else self.profile


def profiles(pitch: np.ndarray) -> np.ndarray:
    """(frames, 12): the normalised profile after each frame of a sequence."""
    key, out = KeyProfile(), np.zeros((len(pitch), 12))
    for t, p in enumerate(pitch):
        key.add(int(p))
        out[t] = key.normalised()
    return out


def one_hot(pitch: np.ndarray, loudness: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
    """(frames, INPUTS) float32: the model's input for frames whose previous tokens are these,
    with the key profile after them (frames, 12; zeros when not given)."""
    pitch, loudness = np.atleast_1d(pitch), np.atleast_1d(loudness)
    x = np.zeros((len(pitch), INPUTS), np.float32)
    x[np.arange(len(pitch)), pitch] = 1
    x[np.arange(len(pitch)), PITCHES + loudness] = 1
    if key is not None:
        x[:, PITCHES + LOUDNESS_STEPS:] = np.asarray(key).reshape(len(pitch), 12)
    return x


def encode(pitch: np.ndarray, loudness: np.ndarray) -> np.ndarray:
    """Inputs for a whole sequence: x_t is frame t's tokens and the key after it (predicting t + 1)."""
    return one_hot(pitch, loudness, profiles(pitch))


def sample(logits: np.ndarray, temperature: float, rng: np.random.Generator,
           top_p: float = TOP_P) -> tuple[int, int]:
    """(pitch, loudness) drawn from one frame's logits; temperature 0 takes the likeliest.
    Nucleus sampling: only the likeliest choices that together hold `top_p` of the
    probability are drawn from. A melody picks a new note fifty times a second; the
    long tail (a chromatic neighbour at 1 %) would be drawn every few notes and lead
    it out of its key."""
    logits = np.asarray(logits, np.float64).ravel()
    out = []
    for part in (logits[:PITCHES], logits[PITCHES:PITCHES + LOUDNESS_STEPS]):
        if temperature <= 1e-3:
            out.append(int(np.argmax(part)))
            continue
        z = part / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        order = np.argsort(p)[::-1]
        keep = order[: int(np.searchsorted(np.cumsum(p[order]), top_p)) + 1]
        out.append(int(rng.choice(keep, p=p[keep] / p[keep].sum())))
    return out[0], out[1]
