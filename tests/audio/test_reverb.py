"""The block-wise FDN reverb: its tail falls 60 dB in the decay asked for, it
is silent before its shortest delay, and the block size does not change it."""
import numpy as np
import pytest

from engine.audio.reverb import Reverb


def impulse_response(block, seconds=3.0, decay_s=1.0, rate=48000):
    reverb = Reverb(rate, block, decay_s=decay_s, damping=0.0)
    x = np.zeros(int(seconds * rate) // block * block)
    x[0] = 1.0
    return np.concatenate([reverb.process(x[i:i + block]) for i in range(0, len(x), block)])


def test_the_tail_falls_60_db_in_the_decay_time():
    response = impulse_response(256, decay_s=1.0)
    energy = np.convolve(response ** 2, np.ones(4800), "valid")          # 100 ms windows
    level = 10 * np.log10(energy / energy.max() + 1e-30)
    peak = int(np.argmax(level))
    # From the peak to 60 dB down takes about the decay time (early reflections aside).
    below = peak + int(np.argmax(level[peak:] < -60))
    assert (below - peak) / 48000 == pytest.approx(1.0, rel=0.25)


def test_silent_before_the_shortest_delay_and_the_same_for_any_block_size():
    small, large = impulse_response(64, 1.0), impulse_response(256, 1.0)
    first = int(np.argmax(np.abs(large) > 0))
    assert first == Reverb(48000, 256).delays.min()
    n = min(len(small), len(large))
    np.testing.assert_allclose(small[:n], large[:n], atol=1e-6)
