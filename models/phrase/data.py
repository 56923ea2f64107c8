"""Melodies as token streams for the phrase model: every rendered tune
(`tensorstage data audio`) of a split, its score f0 and rendered loudness
every 20 ms, as pitch and loudness tokens (engine/runtime/phrase.py).
Each instrument's rendering is a sequence of its own (the same notes, its
own dynamics)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.runtime import phrase
from models.timbre import dataset

STEP = 2             # 10 ms labels -> 20 ms frames


@dataclass
class Melodies:
    pitch: list[np.ndarray]
    loudness: list[np.ndarray]
    tunes: list[str]
    keys: list[np.ndarray] | None = None      # the key profile after each frame (frames, 12)

    def __post_init__(self) -> None:
        if self.keys is None:
            self.keys = [phrase.profiles(p) for p in self.pitch]

    def __len__(self) -> int:
        return len(self.pitch)


def load(split: str, cache=None, limit: int | None = None) -> Melodies:
    """Every rendering of the split, whatever its instrument (the phrase model has none)."""
    rows = [r for r in dataset.index_rows(cache) if r["split"] == split][:limit]
    if not rows:
        raise dataset.TimbreDataError(f"no {split}-split tunes rendered; run `tensorstage data audio` first")
    pitch, loud, tunes = [], [], []
    for row in rows:
        with np.load(dataset.audio_dir(cache) / row["file"]) as tune:
            f0, db = tune["f0_hz"][::STEP], tune["loudness_db"][::STEP]
        pitch.append(phrase.pitch_token(f0))
        loud.append(phrase.loudness_token(db))
        tunes.append(row["tune"])
    return Melodies(pitch, loud, tunes)
