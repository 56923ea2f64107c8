"""f0, voicing and loudness of a live audio stream, every 5 ms, causal.

Blocks of any size go in; every `hop` samples (5 ms) a frame comes out:
- pitch by YIN (engine/audio/features.py) over the last `2 / fmin` seconds
  (28.6 ms at fmin 70 Hz: two periods of the lowest pitch); YIN compares the
  newest samples, so a pitch p is read from the last `1 / fmin + 1 / p`
  seconds and describes the sound half of that ago: at most `latency_s`
  (at fmin), 9 ms at 440 Hz. A note change is followed in 15-20 ms, jump
  confirmation included (tests/audio/test_tracker.py);
- loudness as the RMS level in dB of the last 10 ms (as the timbre model was
  trained: models/timbre/analysis.py);
- voicing: YIN's confidence above `threshold`, held for `hold_hops` frames
  after it drops, so a note's tail is not cut by one noisy frame.
Against pitch hiccups at note edges (a frame that straddles two notes reads
an octave or a fifth off for a frame): a jump of more than a semitone from the
pitch being played is taken only when the next frame confirms it (within a
semitone); a note change costs one more hop, a steady note nothing. Unvoiced
frames keep the last pitch, so a synthesizer glides nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.audio import features


@dataclass(frozen=True)
class Frame:
    f0_hz: float          # held: the last voiced pitch (0 before the first)
    confidence: float     # YIN's, 0..1
    voiced: bool
    loudness_db: float


class PitchTracker:
    def __init__(self, sample_rate: int, hop_s: float = 0.005, fmin: float = 70.0, fmax: float = 1800.0,
                 threshold: float = 0.8, hold_hops: int = 2) -> None:
        self.rate = int(sample_rate)
        self.hop = max(1, round(sample_rate * hop_s))
        self.fmin, self.fmax = float(fmin), float(fmax)
        self.frame = 2 * int(np.ceil(sample_rate / fmin)) + 2
        self.loudness_window = max(1, round(sample_rate * 0.010))
        self.threshold, self.hold_hops = float(threshold), int(hold_hops)
        self._history = np.zeros(max(self.frame, self.loudness_window), np.float32)
        self._pending = 0                     # samples since the last frame
        self._f0 = 0.0
        self._candidate = 0.0
        self._unvoiced_for = hold_hops + 1

    @property
    def latency_s(self) -> float:
        """How far behind the newest sample a frame's pitch describes the sound
        (the analysis window's centre), plus one hop to confirm a jump."""
        return (self.frame / 2 + self.hop) / self.rate

    def feed(self, block: np.ndarray) -> list[Frame]:
        """The frames completed by this block (mono float), oldest first."""
        block = np.asarray(block, np.float32).ravel()
        frames = []
        position = 0
        while position < len(block):
            take = min(self.hop - self._pending, len(block) - position)
            self._push(block[position:position + take])
            position += take
            self._pending += take
            if self._pending == self.hop:
                self._pending = 0
                frames.append(self._analyse())
        return frames

    def _push(self, samples: np.ndarray) -> None:
        n = len(samples)
        self._history = np.concatenate([self._history[n:], samples])

    def _analyse(self) -> Frame:
        loudness = features.loudness_db(self._history[-self.loudness_window:])
        f0, confidence = features.yin(self._history[-self.frame:], self.rate, self.fmin, self.fmax)
        voiced = f0 > 0 and confidence >= self.threshold and loudness > -70.0
        if voiced:
            self._unvoiced_for = 0
            self._follow(f0)
        else:
            self._unvoiced_for += 1
            self._candidate = 0.0
        still_voiced = self._unvoiced_for <= self.hold_hops and self._f0 > 0
        return Frame(self._f0, confidence, still_voiced, loudness)

    def _follow(self, f0: float) -> None:
        if self._f0 <= 0 or abs(12 * np.log2(f0 / self._f0)) <= 1.0:
            self._f0, self._candidate = f0, 0.0
        elif self._candidate > 0 and abs(12 * np.log2(f0 / self._candidate)) <= 1.0:
            self._f0, self._candidate = f0, 0.0            # confirmed by a second frame
        else:
            self._candidate = f0
