"""A node's side of a stream: the memory it shares with its callback, and what
the callbacks do with it (the audio process attaches the same memory by name)."""

import time
from types import SimpleNamespace

import numpy as np

from engine.audio.feed import CALLBACKS, DEVICE_XRUNS, LAST_CALLBACK_US, LATE, PLAYING, STAMP_SLOTS, InputFeed, \
    OutputFeed, SideMemory
from engine.clock import now_us

FLAGS = SimpleNamespace(output_underflow=False, input_overflow=False)


def test_attached_memory_sees_the_owners_ring_and_counters():
    owner = SideMemory(64, 2, shared=True)
    other = SideMemory(64, 2, name=owner.name)
    try:
        owner.ring.write(np.full((10, 2), 0.5, np.float32))
        out = np.zeros((8, 2), np.float32)
        assert other.ring.read_into(out) == 8 and (out == 0.5).all()
        assert owner.ring.fill == 2                        # the owner sees the other side's reads
        other.counters[CALLBACKS] = 7
        assert owner.count(CALLBACKS) == 7
    finally:
        other.close()
        owner.close(unlink=True)


def test_figures_stay_readable_after_close():
    memory = SideMemory(64, 1, shared=True)
    memory.ring.write(np.ones((5, 1), np.float32))
    memory.counters[DEVICE_XRUNS] = 3
    memory.close(unlink=True)
    assert memory.ring.fill == 5 and memory.count(DEVICE_XRUNS) == 3
    memory.ring.read(5)                                    # a late callback writes to the private copy
    assert memory.ring.fill == 0


def test_speakers_feed_plays_only_once_told_and_counts_flags():
    memory = SideMemory(64, 2)
    feed = OutputFeed(memory, 0.02)
    memory.ring.write(np.full((32, 2), 0.25, np.float32))
    out = np.ones((16, 2), np.float32)
    feed.opened()
    feed.callback(out, 16, None, FLAGS)
    assert (out == 0).all() and memory.ring.fill == 32      # not prefilled yet: silence, nothing taken
    memory.counters[PLAYING] = 1
    feed.callback(out, 16, None, SimpleNamespace(output_underflow=True, input_overflow=False))
    assert (out == 0.25).all() and memory.ring.fill == 16
    assert memory.count(CALLBACKS) == 2 and memory.count(DEVICE_XRUNS) == 1
    assert len(memory.callback_times_us()) == 2 and memory.silent_s() < 1.0
    feed.opened()                                          # a new stream waits for the prefill again
    assert memory.count(PLAYING) == 0


def test_a_callback_later_than_the_device_buffer_is_counted():
    memory = SideMemory(4096, 1)
    feed = OutputFeed(memory, 0.02)                        # a 20 ms device buffer
    feed.opened()
    out = np.zeros((16, 1), np.float32)
    feed.callback(out, 16, None, FLAGS)
    time.sleep(0.05)
    feed.callback(out, 16, None, FLAGS)
    assert memory.count(LATE) == 0                         # not playing yet: nothing to miss
    memory.counters[PLAYING] = 1
    feed.callback(out, 16, None, FLAGS)
    feed.callback(out, 16, None, FLAGS)
    assert memory.count(LATE) == 0                         # on time
    time.sleep(0.05)                                       # the device ran dry meanwhile
    feed.callback(out, 16, None, FLAGS)
    assert memory.count(LATE) == 1


def test_microphone_feed_stamps_each_block_with_its_capture_time():
    memory = SideMemory(256, 1)
    feed = InputFeed(memory)
    feed.opened()
    rate, block = 48000, 16
    called_us = []
    for i in range(STAMP_SLOTS + 4):                       # more blocks than stamps are kept
        called_us.append(now_us())
        device_now = called_us[-1] / 1e6 + 1000.0          # PortAudio's clock: another epoch
        stream_times = SimpleNamespace(currentTime=device_now, inputBufferAdcTime=device_now - 0.004)
        feed.callback(np.full((block, 1), i, np.float32), block, stream_times, FLAGS)
        if memory.ring.fill > 128:
            memory.ring.read(block)
    position = memory.ring.read_frames
    first = int(memory.ring.read(1)[0, 0])                 # which block that frame came from
    captured = memory.capture_us(position, rate)
    # On the engine clock: 4 ms before that block's callback ran; later frames of a block, later.
    assert abs(captured - (called_us[first] - 4000)) < 2000
    assert memory.capture_us(position + 5, rate) - captured == round(5 / rate * 1e6)
    assert memory.capture_us(0, rate) is None              # long gone from the kept stamps
    assert memory.count(LAST_CALLBACK_US) >= called_us[-1]
