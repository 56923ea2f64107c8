"""A single-producer, single-consumer ring of audio frames.

The device callback is one side, a worker the other. Neither takes a lock:
each side moves only its own counter, and a Python int assignment is atomic.
The callback side only copies into a buffer it was given (no allocation).
"""

from __future__ import annotations

import numpy as np


class AudioRing:
    def __init__(self, capacity_frames: int, channels: int) -> None:
        self.capacity = capacity_frames
        self.channels = channels
        self._data = np.zeros((capacity_frames, channels), dtype=np.float32)
        self._written = 0    # frames ever written (producer's counter)
        self._read = 0       # frames ever read (consumer's counter)
        self.overflows = 0   # frames dropped because the ring was full
        self.underflows = 0  # reads that found fewer frames than asked

    @property
    def fill(self) -> int:
        return self._written - self._read

    def write(self, block: np.ndarray) -> int:
        """Append frames; what does not fit is dropped and counted. Returns frames written."""
        frames = min(len(block), self.capacity - self.fill)
        if frames < len(block):
            self.overflows += len(block) - frames
        start = self._written % self.capacity
        first = min(frames, self.capacity - start)
        self._data[start:start + first] = block[:first]
        self._data[:frames - first] = block[first:frames]
        self._written += frames
        return frames

    def read_into(self, out: np.ndarray) -> int:
        """Fill `out` (frames x channels) from the ring, silence for what is missing."""
        wanted = len(out)
        frames = min(wanted, self.fill)
        start = self._read % self.capacity
        first = min(frames, self.capacity - start)
        out[:first] = self._data[start:start + first]
        out[first:frames] = self._data[:frames - first]
        if frames < wanted:
            out[frames:] = 0.0
            self.underflows += 1
        self._read += frames
        return frames

    def read(self, frames: int) -> np.ndarray:
        out = np.empty((frames, self.channels), dtype=np.float32)
        self.read_into(out)
        return out
