"""A single-producer, single-consumer ring of audio frames.

The device callback is one side, a worker the other. Neither takes a lock:
each side moves only its own counter (an aligned int64 store, atomic on the
machines we run on), so the ring also works across processes when its frames
and counters live in shared memory (engine/audio/feed.py). The callback side
only copies into a buffer it was given (no allocation).
"""

from __future__ import annotations

import numpy as np

# Counters: frames ever written (producer), frames ever read (consumer), frames
# dropped because the ring was full (producer), reads that found fewer frames
# than asked (consumer).
WRITTEN, READ, OVERFLOWS, UNDERFLOWS = range(4)
COUNTERS = 4


class AudioRing:
    def __init__(self, capacity_frames: int, channels: int, data: np.ndarray | None = None,
                 counters: np.ndarray | None = None) -> None:
        """`data` (capacity x channels float32) and `counters` (int64, COUNTERS
        long) may be given, in shared memory; otherwise they are allocated here."""
        self.capacity = capacity_frames
        self.channels = channels
        self._data = np.zeros((capacity_frames, channels), dtype=np.float32) if data is None else data
        self._counts = np.zeros(COUNTERS, dtype=np.int64) if counters is None else counters

    @property
    def fill(self) -> int:
        return int(self._counts[WRITTEN] - self._counts[READ])

    @property
    def written(self) -> int:
        return int(self._counts[WRITTEN])

    @property
    def read_frames(self) -> int:
        return int(self._counts[READ])

    @property
    def overflows(self) -> int:
        return int(self._counts[OVERFLOWS])

    @property
    def underflows(self) -> int:
        return int(self._counts[UNDERFLOWS])

    def write(self, block: np.ndarray) -> int:
        """Append frames; what does not fit is dropped and counted. Returns frames written."""
        written = int(self._counts[WRITTEN])
        frames = min(len(block), self.capacity - (written - int(self._counts[READ])))
        if frames < len(block):
            self._counts[OVERFLOWS] += len(block) - frames
        start = written % self.capacity
        first = min(frames, self.capacity - start)
        self._data[start:start + first] = block[:first]
        self._data[:frames - first] = block[first:frames]
        self._counts[WRITTEN] = written + frames      # after the frames: the reader may look now
        return frames

    def read_into(self, out: np.ndarray) -> int:
        """Fill `out` (frames x channels) from the ring, silence for what is missing."""
        wanted = len(out)
        read = int(self._counts[READ])
        frames = min(wanted, int(self._counts[WRITTEN]) - read)
        start = read % self.capacity
        first = min(frames, self.capacity - start)
        out[:first] = self._data[start:start + first]
        out[first:frames] = self._data[:frames - first]
        if frames < wanted:
            out[frames:] = 0.0
            self._counts[UNDERFLOWS] += 1
        self._counts[READ] = read + frames
        return frames

    def read(self, frames: int) -> np.ndarray:
        out = np.empty((frames, self.channels), dtype=np.float32)
        self.read_into(out)
        return out
