"""A small feedback-delay-network reverb (Jot's FDN), run a whole block at a time.

Four delay lines (29 to 55 ms, mutually prime lengths), mixed back through a
Householder matrix (orthogonal: the network neither gains nor loses energy by
itself), each line's feedback set so the tail falls 60 dB in `decay_s`. Every
line is longer than a block, so a block's reads come from samples written in
earlier blocks and the whole block is one matrix product: no per-sample loop
in Python. A one-zero low-pass in the loop darkens the tail as a room does.
"""

from __future__ import annotations

import numpy as np

DELAYS_48K = (1399, 1747, 2137, 2647)      # samples at 48 kHz, mutually prime, 29-55 ms


class Reverb:
    def __init__(self, sample_rate: int, block: int, decay_s: float = 2.0, damping: float = 0.3) -> None:
        self.rate, self.block = int(sample_rate), int(block)
        self.delays = np.array([max(self.block, round(d * sample_rate / 48000)) for d in DELAYS_48K])
        n = len(self.delays)
        self._matrix = np.eye(n) - 2.0 / n               # Householder: orthogonal
        self._size = int(self.delays.max() + self.block)
        self._lines = np.zeros((n, self._size))
        self._write = 0
        self._last = np.zeros(n)
        self.damping = float(damping)
        self.set_decay(decay_s)

    def set_decay(self, decay_s: float) -> None:
        self.decay_s = max(0.05, float(decay_s))
        # -60 dB after decay_s: per pass through a line of d samples, 10^(-3 d / (rate T60)).
        self._gains = 10 ** (-3.0 * self.delays / (self.rate * self.decay_s))

    def process(self, x: np.ndarray) -> np.ndarray:
        """The reverberated (wet only) block for a mono block `x` of `block` frames."""
        frames = len(x)
        positions = (self._write + np.arange(frames))[None, :] - self.delays[:, None]
        reads = np.take_along_axis(self._lines, positions % self._size, axis=1)       # (lines, frames)
        # Damping: a one-zero low-pass per line (the previous sample from the last block), so
        # high frequencies die sooner, as in a room; vectorised over the block.
        previous = np.concatenate([self._last[:, None], reads[:, :-1]], axis=1)
        self._last = reads[:, -1].copy()
        reads = (1 - self.damping) * reads + self.damping * previous
        feedback = self._matrix @ (reads * self._gains[:, None])
        columns = (self._write + np.arange(frames)) % self._size
        self._lines[:, columns] = feedback + x[None, :]
        self._write = (self._write + frames) % self._size
        return (reads.sum(axis=0) / len(self.delays)).astype(np.float32)
