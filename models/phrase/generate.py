"""Generating with the phrase network offline (previews, evaluation): prime it
with heard frames, then sample frame after frame. The node does the same with
the LiteRT step."""
from __future__ import annotations

import numpy as np

from engine.runtime import phrase


def continue_phrase(model, pitch, loudness, frames: int, temperature: float, rng: np.random.Generator,
                    stepper=None):
    """`frames` generated (pitch, loudness) tokens after priming with the given ones.
    `stepper(x, state) -> (logits, state)`: the Keras step by default, or a LiteRT one."""
    if stepper is None:
        from models.phrase import network

        def stepper(x, state):
            logits, state = network.step(model, x, state)
            return np.asarray(logits), np.asarray(state)
        state = np.zeros((1, network.units_of(model)), np.float32)
    else:
        state = None
    logits, key = None, phrase.KeyProfile()
    for p, l_ in zip(pitch, loudness):
        key.add(int(p))
        logits, state = stepper(phrase.one_hot(p, l_, key.normalised()), state)
    out_p, out_l = [], []
    for _ in range(frames):
        p, l_ = phrase.sample(logits, temperature, rng)
        out_p.append(p)
        out_l.append(l_)
        key.add(p)
        logits, state = stepper(phrase.one_hot(p, l_, key.normalised()), state)
    return np.array(out_p), np.array(out_l)


def render_tone(pitch, loudness, rate: int = 16000) -> np.ndarray:
    """A plain harmonic tone playing the tokens (previews): 3 harmonics, phase kept."""
    hop = int(rate * phrase.FRAME_S)
    f0 = np.repeat(phrase.f0_of(pitch), hop)
    amp = np.repeat(np.where(np.asarray(pitch) > 0, 10 ** (phrase.loudness_of(loudness) / 20), 0.0), hop)
    amp = np.convolve(amp, np.ones(80) / 80, "same")          # 5 ms ramps: no clicks
    held = f0.copy()
    for i in range(1, len(held)):                              # keep the pitch through rests
        if held[i] == 0:
            held[i] = held[i - 1]
    phase = np.cumsum(held) / rate % 1.0
    wave = sum(np.sin(2 * np.pi * k * phase) / k for k in (1, 2, 3))
    return (amp * wave * 0.7).astype(np.float32)
