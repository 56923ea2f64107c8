"""The sample RNN's training arrays: each texture's clips with the
backward-adaptive linear prediction the generator makes (engine/runtime/
sample_rnn.py), as 8-bit mu-law indices: previous sample, this sample's
prediction, previous excitation (inputs) and this excitation (target).
Made afresh each time: 4 textures x 2 minutes take a few seconds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.runtime import sample_rnn as rnn
from models.sample_rnn import textures


@dataclass
class Clips:
    names: list[str]              # texture of each clip
    audio: list[np.ndarray]       # float64 samples
    prediction: list[np.ndarray]  # the generator's prediction of each sample

    def indices(self, i: int) -> dict[str, np.ndarray]:
        """Mu-law inputs and target of clip i, aligned on the sample predicted."""
        x, p = self.audio[i], self.prediction[i]
        e = x - p
        s_idx, p_idx, e_idx = rnn.mu_encode(x), rnn.mu_encode(p), rnn.mu_encode(e)
        return {"sample": s_idx[:-1], "prediction": p_idx[1:], "excitation": e_idx[:-1], "target": e_idx[1:]}


def load(split: str, names=textures.TEXTURES, clips: int = 12, seconds: float = 10.0) -> Clips:
    out = Clips([], [], [])
    for name in names:
        for i in range(clips):
            x = textures.clip(name, split, i, seconds).astype(np.float64)
            out.names.append(name)
            out.audio.append(x)
            out.prediction.append(rnn.predictions(x))
    return out
