"""The rendered tunes (`tensorstage data audio`) analysed once into the
synthesizer's controls (models/timbre/analysis.py) and cached per split and
instrument set: analysing costs about half a second per 20 s tune, training
reads the cache in a moment."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common import data
from models.timbre import analysis


class TimbreDataError(RuntimeError):
    pass


@dataclass
class Tunes:
    """Analysed tunes of one split, concatenated; `starts[i]` is tune i's first frame."""
    instruments: tuple[str, ...]
    files: list[str]
    instrument: np.ndarray      # (tunes,) index into instruments
    starts: np.ndarray          # (tunes + 1,)
    f0: np.ndarray              # (frames,) score f0, 0 in rests
    f0_held: np.ndarray
    loudness_db: np.ndarray
    harmonics: np.ndarray       # (frames, 60), NaN at or above 8 kHz
    noise: np.ndarray           # (frames, 65)

    def tune(self, i: int) -> dict[str, np.ndarray]:
        a, b = self.starts[i], self.starts[i + 1]
        return {k: getattr(self, k)[a:b] for k in ("f0", "f0_held", "loudness_db", "harmonics", "noise")}


def audio_dir(cache=None) -> Path:
    return data.cache_dir(cache) / "audio"


def index_rows(cache=None) -> list[dict]:
    index = audio_dir(cache) / "index.csv"
    if not index.exists():
        raise TimbreDataError(f"{index}: no rendered tunes; run `tensorstage data audio --instruments "
                              "violin,flute,cello` first")
    with index.open() as f:
        return list(csv.DictReader(f))


def rows_for(split: str, instruments, cache=None) -> list[dict]:
    rows = [r for r in index_rows(cache) if r["split"] == split and r["instrument"] in instruments]
    missing = [i for i in instruments if not any(r["instrument"] == i for r in rows)]
    if missing:
        raise TimbreDataError(f"no {split}-split tunes rendered for {', '.join(missing)}; run `tensorstage data "
                              f"audio --instruments {','.join(instruments)}`")
    return rows


def load(split: str, instruments, cache=None, limit: int | None = None, progress=print) -> Tunes:
    instruments = tuple(instruments)
    rows = rows_for(split, instruments, cache)
    if limit:
        rows = rows[:limit]
    cached = audio_dir(cache) / f"timbre_{split}_{'_'.join(instruments)}_{len(rows)}.npz"
    if not cached.exists():
        parts = []
        for n, row in enumerate(rows, start=1):
            with np.load(audio_dir(cache) / row["file"]) as tune:
                parts.append(analysis.analyse(tune["audio"], tune["f0_hz"]))
            if n % 20 == 0 or n == len(rows):
                progress(f"timbre: analysed {n}/{len(rows)} {split} tunes")
        lengths = [len(p["f0"]) for p in parts]
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        tmp = cached.with_suffix(".tmp.npz")
        np.savez(tmp, files=np.array([r["file"] for r in rows]),
                 instrument=np.array([instruments.index(r["instrument"]) for r in rows]),
                 starts=np.concatenate([[0], np.cumsum(lengths)]), **arrays)
        os.replace(tmp, cached)
    with np.load(cached) as saved:
        return Tunes(instruments, list(saved["files"]), saved["instrument"], saved["starts"], saved["f0"],
                     saved["f0_held"], saved["loudness_db"], saved["harmonics"], saved["noise"])


def audio_of(file: str, cache=None) -> np.ndarray:
    with np.load(audio_dir(cache) / file) as tune:
        return tune["audio"]
