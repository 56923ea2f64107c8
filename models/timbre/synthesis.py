"""Offline rendering through the engine's own synthesizer (so what training
previews and evaluation measure is what the stage plays), one 5 ms frame a block."""
from __future__ import annotations

import numpy as np

from engine.audio.synth import Controls, HarmonicNoiseSynth
from models.timbre import analysis


def split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(amplitude, distribution, noise) from the network's (frames, 126) output."""
    h = analysis.HARMONICS
    return y[:, 0], y[:, 1:1 + h], y[:, 1 + h:]


def render_sequence(f0_held: np.ndarray, y: np.ndarray | None = None, *, amplitude=None, distribution=None,
                    noise=None, seed: int = 0) -> np.ndarray:
    """16 kHz audio from per-frame f0 and controls (the network's y, or the three parts)."""
    if y is not None:
        amplitude, distribution, noise = split(y)
    synth = HarmonicNoiseSynth(analysis.RATE, analysis.HOP, analysis.HARMONICS, analysis.BANDS,
                               top_hz=analysis.TOP_HZ, noise_top_hz=analysis.TOP_HZ, seed=seed)
    blocks = [synth.render(Controls(float(f), float(a), d, n))
              for f, a, d, n in zip(f0_held, amplitude, distribution, noise)]
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
