"""The other audio design, kept for measurement: the PortAudio streams in a
process of their own (spawned: it imports numpy and sounddevice, never
TensorFlow), fed through a shared-memory ring by the engine's process.

`bench audio --design both` measures it beside the in-process design the engine
uses; docs/BENCHMARKS.md has both and the reason for the choice. The child's
callback only copies, as in the engine; the question is whether the parent,
loaded with video, a model and Python work, keeps the ring fed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from multiprocessing import shared_memory

import numpy as np

# Shared counters (int64): frames written, frames read, underflow callbacks,
# callbacks, recorded frames, running flag, child ready flag.
WRITTEN, READ, UNDERFLOWS, CALLBACKS, RECORDED, RUNNING, READY = range(7)
TIMES = 200_000            # callback times kept for jitter


class SharedRing:
    """A single-producer, single-consumer float32 ring in shared memory; the
    counters are int64 in shared memory too (aligned 8-byte stores)."""

    def __init__(self, frames: int, channels: int, name: str | None = None) -> None:
        size = frames * channels * 4
        self.shm = shared_memory.SharedMemory(name=name, create=name is None, size=size)
        self.data = np.ndarray((frames, channels), np.float32, buffer=self.shm.buf)
        self.frames, self.channels = frames, channels

    def close(self, unlink: bool = False) -> None:
        del self.data
        self.shm.close()
        if unlink:
            self.shm.unlink()


def _child(names: dict, device, rate: int, block: int, channels: int, buffer_blocks: int,
           ring_frames: int, record_frames: int, parent: int) -> None:
    import os

    import sounddevice as sd

    counters_shm = shared_memory.SharedMemory(name=names["counters"])
    counters = np.ndarray((8,), np.int64, buffer=counters_shm.buf)
    times_shm = shared_memory.SharedMemory(name=names["times"])
    times = np.ndarray((TIMES,), np.int64, buffer=times_shm.buf)
    ring = SharedRing(ring_frames, channels, names["ring"])
    record = SharedRing(record_frames, 1, names["record"])

    def play(out, frames, _time, _status):
        written, read = int(counters[WRITTEN]), int(counters[READ])
        n = min(frames, written - read)
        start = read % ring_frames
        first = min(n, ring_frames - start)
        out[:first] = ring.data[start:start + first]
        out[first:n] = ring.data[:n - first]
        if n < frames:
            out[n:] = 0.0
            counters[UNDERFLOWS] += 1
        counters[READ] = read + n
        calls = int(counters[CALLBACKS])
        times[calls % TIMES] = time.monotonic_ns()
        counters[CALLBACKS] = calls + 1

    def listen(data, frames, _time, _status):
        done = int(counters[RECORDED])
        n = min(frames, record_frames - done)
        record.data[done:done + n, 0] = data[:n, 0]
        counters[RECORDED] = done + n

    latency = buffer_blocks * block / rate
    with sd.OutputStream(samplerate=rate, blocksize=block, channels=channels, dtype="float32",
                         device=device, callback=play, latency=latency), \
            sd.InputStream(samplerate=rate, blocksize=block, channels=1, dtype="float32",
                           device=device, callback=listen, latency=latency):
        counters[READY] = 1
        while counters[RUNNING] and os.getppid() == parent:   # ends with a killed parent too
            time.sleep(0.02)
    ring.close()
    record.close()
    del counters, times
    counters_shm.close()
    times_shm.close()


class AudioProcess:
    """Starts the child, and writes audio into its ring from this process."""

    def __init__(self, device, rate: int, block: int, channels: int = 2, buffer_blocks: int = 4,
                 ring_blocks: int = 32, record_seconds: float = 60.0) -> None:
        self.rate, self.block, self.channels = rate, block, channels
        self.ring = SharedRing(ring_blocks * block, channels)
        self.record = SharedRing(int(record_seconds * rate), 1)
        self._counters_shm = shared_memory.SharedMemory(create=True, size=8 * 8)
        self.counters = np.ndarray((8,), np.int64, buffer=self._counters_shm.buf)
        self.counters[:] = 0
        self.counters[RUNNING] = 1
        self._times_shm = shared_memory.SharedMemory(create=True, size=TIMES * 8)
        self.times = np.ndarray((TIMES,), np.int64, buffer=self._times_shm.buf)
        names = {"counters": self._counters_shm.name, "times": self._times_shm.name,
                 "ring": self.ring.shm.name, "record": self.record.shm.name}
        self.process = mp.get_context("spawn").Process(
            target=_child, name="tensorstage-audio", daemon=True,
            args=(names, device, rate, block, channels, buffer_blocks, self.ring.frames, self.record.frames,
                  os.getpid()))

    def start(self, timeout: float = 15.0) -> None:
        self.process.start()
        end = time.monotonic() + timeout
        while not self.counters[READY]:
            if not self.process.is_alive() or time.monotonic() > end:
                raise RuntimeError("the audio process did not start its streams")
            time.sleep(0.01)

    @property
    def fill(self) -> int:
        return int(self.counters[WRITTEN] - self.counters[READ])

    def write(self, block: np.ndarray) -> int:
        frames = min(len(block), self.ring.frames - self.fill)
        written = int(self.counters[WRITTEN])
        start = written % self.ring.frames
        first = min(frames, self.ring.frames - start)
        self.ring.data[start:start + first] = block[:first]
        self.ring.data[:frames - first] = block[first:frames]
        self.counters[WRITTEN] = written + frames
        return frames

    def recorded(self) -> np.ndarray:
        return self.record.data[: int(self.counters[RECORDED]), 0].copy()

    def callback_times_ns(self) -> np.ndarray:
        calls = int(self.counters[CALLBACKS])
        return np.sort(self.times[: min(calls, TIMES)].copy())

    def stop(self) -> None:
        self.counters[RUNNING] = 0
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        del self.counters, self.times
        self._counters_shm.close()
        self._counters_shm.unlink()
        self._times_shm.close()
        self._times_shm.unlink()
        self.ring.close(unlink=True)
        self.record.close(unlink=True)
