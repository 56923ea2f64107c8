"""What a device callback does for one node, and the memory it shares with it.

A microphone or speakers node owns a `SideMemory`: its ring of frames and the
counters the callback keeps (callbacks, PortAudio's xrun flags, the time of the
last callbacks, capture stamps, whether to play). With the sound devices in
their own process (engine/audio/host.py) that memory is shared memory, created
by the node and attached by the audio process; in the engine's process it is a
plain array. Either way the callback (`OutputFeed`, `InputFeed`) only copies
and counts, and each counter has one writer.
"""

from __future__ import annotations

from multiprocessing import shared_memory

import numpy as np

from engine.audio.ring import COUNTERS as RING_COUNTERS
from engine.audio.ring import AudioRing
from engine.clock import DeviceClockMap, now_us

# Counters after the ring's: written by the callback unless noted.
CALLBACKS = RING_COUNTERS          # callbacks so far
DEVICE_XRUNS = CALLBACKS + 1       # PortAudio's output-underflow or input-overflow flags
LAST_CALLBACK_US = CALLBACKS + 2   # engine clock
STAMPS = CALLBACKS + 3             # capture stamps written (input)
PLAYING = CALLBACKS + 4            # written by the node once prefilled; cleared by the audio side at each open
OPEN = CALLBACKS + 5               # a stream carrying this side is running (audio side)
LATE = CALLBACKS + 6               # output callbacks that came after the device buffer had run dry
COUNTERS = 16
TIMES = 32768                      # callback times kept, for jitter figures (over 60 s at 128 frames)
STAMP_SLOTS = 64


class SideMemory:
    """The frames and counters of one node's side of a stream. `name` None:
    new memory (`shared` decides whether it is shared memory, by `name`
    then); otherwise attach to the shared memory of that name."""

    def __init__(self, frames: int, channels: int, shared: bool = False, name: str | None = None) -> None:
        self.frames, self.channels = frames, channels
        size = 8 * (COUNTERS + TIMES + 2 * STAMP_SLOTS) + 4 * frames * channels
        self._shm: shared_memory.SharedMemory | None = None
        if name is not None or shared:
            self._shm = shared_memory.SharedMemory(name=name, create=name is None, size=size)
            buffer = self._shm.buf
        else:
            buffer = bytearray(size)
        self.name = self._shm.name if self._shm else None
        offset = 0

        def take(dtype, count):
            nonlocal offset
            array = np.ndarray((count,), dtype, buffer=buffer, offset=offset)
            offset += array.nbytes
            return array

        self.counters = take(np.int64, COUNTERS)
        self.times_us = take(np.int64, TIMES)
        self.stamp_frames = take(np.int64, STAMP_SLOTS)   # ring position of a captured block's first frame
        self.stamp_us = take(np.int64, STAMP_SLOTS)       # its capture time, engine clock
        data = take(np.float32, frames * channels).reshape(frames, channels)
        if name is None:
            self.counters[:] = 0
        self.ring = AudioRing(frames, channels, data, self.counters[:RING_COUNTERS])

    def count(self, index: int) -> int:
        return int(self.counters[index])

    def note_callback(self, seen_us: int) -> None:
        """A callback ran at `seen_us`: counted, kept for jitter figures, and the
        newest (silence is measured from it)."""
        calls = int(self.counters[CALLBACKS])
        self.times_us[calls % TIMES] = self.counters[LAST_CALLBACK_US] = seen_us
        self.counters[CALLBACKS] = calls + 1

    def callback_times_us(self) -> np.ndarray:
        """The kept callback times, oldest first."""
        calls = self.count(CALLBACKS)
        return np.sort(self.times_us[:min(calls, TIMES)].copy())

    def silent_s(self) -> float:
        return (now_us() - self.count(LAST_CALLBACK_US)) / 1e6

    def capture_us(self, frame: int, rate: int) -> int | None:
        """When the frame at ring position `frame` was captured, from the
        newest stamp at or before it; None if no stamp covers it."""
        written = self.count(STAMPS)
        kept = np.arange(max(0, written - STAMP_SLOTS), written) % STAMP_SLOTS
        starts = self.stamp_frames[kept]
        before = np.nonzero(starts <= frame)[0]
        if not len(before):
            return None
        slot = kept[before[-1]]
        return int(self.stamp_us[slot] + (frame - self.stamp_frames[slot]) * 1e6 / rate)

    def close(self, unlink: bool = False) -> None:
        """Let go of the shared memory (`unlink`: its owner, for good). The
        figures stay readable (a heartbeat or a bench may ask after the node
        stopped), in private copies; a callback still running writes to those."""
        if self._shm is None:
            return
        self.counters, self.times_us = self.counters.copy(), self.times_us.copy()
        self.stamp_frames, self.stamp_us = self.stamp_frames.copy(), self.stamp_us.copy()
        self.ring._counts = self.counters[:RING_COUNTERS]
        self.ring._data = self.ring._data.copy()
        try:
            self._shm.close()
        except BufferError:
            pass          # someone still holds a view; the mapping goes when it does
        if unlink:
            self._shm.unlink()
        self._shm = None


class OutputFeed:
    """Speakers: plays the ring once the node says it is prefilled, silence
    before. A callback that comes longer after the one before than the device
    buffer lasts is counted late: the device has played silence meanwhile,
    which PortAudio's ALSA plugin on PipeWire does without flagging an
    underflow (docs/BENCHMARKS.md)."""

    def __init__(self, memory: SideMemory, buffer_s: float) -> None:
        self.memory = memory
        self.buffer_us = int(buffer_s * 1e6)

    def callback(self, outdata: np.ndarray, frames: int, time, status) -> None:
        memory, counters = self.memory, self.memory.counters
        seen = now_us()
        if counters[PLAYING] and seen - counters[LAST_CALLBACK_US] > self.buffer_us:
            counters[LATE] += 1
        memory.note_callback(seen)
        if status.output_underflow:
            counters[DEVICE_XRUNS] += 1
        if counters[PLAYING]:
            memory.ring.read_into(outdata)
        else:
            outdata.fill(0)

    def opened(self) -> None:
        """Before a new stream starts: wait for the node's prefill again."""
        self.memory.counters[PLAYING] = 0
        self.memory.counters[LAST_CALLBACK_US] = now_us()   # not silent yet: it has not begun


class InputFeed:
    """Microphone: copies each block into the ring, stamped with its capture
    time restated on the engine clock (PortAudio's stream time is another clock)."""

    def __init__(self, memory: SideMemory) -> None:
        self.memory = memory
        self.clock_map = DeviceClockMap()

    def callback(self, indata: np.ndarray, frames: int, time, status) -> None:
        memory, counters = self.memory, self.memory.counters
        seen = now_us()
        memory.note_callback(seen)
        if status.input_overflow:
            counters[DEVICE_XRUNS] += 1
        self.clock_map.observe(time.currentTime, seen)
        stamps = int(counters[STAMPS])
        memory.stamp_frames[stamps % STAMP_SLOTS] = memory.ring.written
        memory.stamp_us[stamps % STAMP_SLOTS] = self.clock_map.to_engine_us(time.inputBufferAdcTime)
        counters[STAMPS] = stamps + 1
        memory.ring.write(indata)

    def opened(self) -> None:
        self.clock_map = DeviceClockMap()   # a new stream may count time from elsewhere
        self.memory.counters[LAST_CALLBACK_US] = now_us()
