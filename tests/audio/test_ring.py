import numpy as np

from engine.audio.ring import AudioRing


def ramp(start: int, frames: int) -> np.ndarray:
    return np.arange(start, start + frames, dtype=np.float32).reshape(-1, 1).repeat(2, axis=1)


def test_frames_come_out_in_order_across_the_wrap():
    ring = AudioRing(10, 2)
    out = np.empty((4, 2), np.float32)
    written = 0
    for _ in range(20):
        ring.write(ramp(written, 3))
        written += 3
        ring.read_into(out[:3])
        assert (out[:3, 0] == np.arange(written - 3, written)).all()
    assert ring.underflows == 0 and ring.overflows == 0


def test_underflow_fills_silence_and_counts():
    ring = AudioRing(8, 2)
    ring.write(ramp(1, 2))
    out = np.full((4, 2), 9.0, np.float32)
    assert ring.read_into(out) == 2
    assert (out[:2, 0] == [1, 2]).all() and (out[2:] == 0).all()
    assert ring.underflows == 1


def test_overflow_drops_what_does_not_fit_and_counts():
    ring = AudioRing(4, 2)
    assert ring.write(ramp(0, 6)) == 4
    assert ring.overflows == 2
    assert (ring.read(4)[:, 0] == [0, 1, 2, 3]).all()
