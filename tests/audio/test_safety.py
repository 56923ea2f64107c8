"""Speaker safety: whatever comes in, what goes out is finite and under the ceiling."""

import numpy as np
import pytest

from engine.audio.safety import SpeakerSafety, db_to_gain

RATE, BLOCK = 48000, 256
CEILING = db_to_gain(-1.0)


def blocks(signal: np.ndarray):
    for start in range(0, len(signal) - BLOCK + 1, BLOCK):
        yield signal[start:start + BLOCK]


def run(safety: SpeakerSafety, signal: np.ndarray) -> np.ndarray:
    return np.concatenate([safety.process(b) for b in blocks(signal)])


def tone(freq: float, seconds: float, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32).reshape(-1, 1).repeat(2, axis=1)


def test_nan_and_inf_become_silence_and_are_counted():
    safety = SpeakerSafety(RATE, 2)
    signal = tone(440, 0.2)
    signal[3000] = np.nan
    signal[6000] = np.inf
    out = run(safety, signal)
    assert np.isfinite(out).all()
    assert safety.nonfinite_blocks == 2
    assert (out[(3000 // BLOCK) * BLOCK:(3000 // BLOCK + 1) * BLOCK] == 0).all()


def test_a_full_scale_square_wave_stays_under_the_ceiling():
    safety = SpeakerSafety(RATE, 2)
    square = np.sign(tone(100, 1.0, 1.0)).astype(np.float32) * 1.0
    out = run(safety, square)
    assert np.abs(out).max() <= CEILING + 1e-6
    assert np.abs(out[-RATE // 2:]).max() > 0.5 * CEILING      # limited, not silenced


def test_a_sudden_40_db_jump_stays_under_the_ceiling():
    safety = SpeakerSafety(RATE, 2)
    quiet = tone(440, 0.5, 0.01)
    loud = tone(440, 0.5, 0.01 * db_to_gain(40.0)) * 5          # 5x over full scale
    out = run(safety, np.concatenate([quiet, loud]))
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= CEILING + 1e-6
    assert safety.limited_blocks > 0


def test_start_fades_in():
    safety = SpeakerSafety(RATE, 2, fade_s=0.05)
    out = run(safety, tone(440, 0.2, 0.5))
    assert np.abs(out[:BLOCK]).max() < 0.5 * 0.5              # the first 5 ms are still quiet
    assert np.abs(out[RATE // 10:]).max() == pytest.approx(0.5, abs=0.02)


def test_dc_is_removed():
    safety = SpeakerSafety(RATE, 2)
    out = run(safety, tone(440, 3.0, 0.2) + 0.4)
    assert abs(out[-RATE // 2:].mean()) < 0.01


def test_mute_silences_within_a_block():
    safety = SpeakerSafety(RATE, 2, fade_s=0.001)
    signal = tone(440, 0.1)
    safety.process(signal[:BLOCK])
    safety.process(signal[BLOCK:2 * BLOCK], mute=True)
    assert (safety.process(signal[2 * BLOCK:3 * BLOCK], mute=True) == 0).all()


def test_a_steady_tone_is_not_mistaken_for_feedback():
    found = []
    safety = SpeakerSafety(RATE, 2, on_feedback=found.append)
    run(safety, tone(1000, 3.0, 0.5))
    assert found == [] and safety.feedback.gain == 1.0


def test_a_simulated_feedback_loop_is_ducked_reported_and_bounded():
    """Speaker -> room -> microphone -> speaker with more than unity gain at one
    frequency: without the guard it grows until it clips."""
    found = []
    safety = SpeakerSafety(RATE, 2, on_feedback=found.append)
    rng = np.random.default_rng(1)
    t_block = np.arange(BLOCK) / RATE
    level, out_peaks = 0.001, []
    phase = 0.0
    for i in range(int(4.0 * RATE / BLOCK)):
        howl = level * np.sin(2 * np.pi * 2500 * t_block + phase)
        phase += 2 * np.pi * 2500 * BLOCK / RATE
        mic = (howl + 0.001 * rng.standard_normal(BLOCK)).astype(np.float32)
        out = safety.process(np.stack([mic, mic], axis=1))
        assert np.isfinite(out).all() and np.abs(out).max() <= CEILING + 1e-6
        out_peaks.append(np.abs(out).max())
        # The room: what the speaker played comes back 1.1x louder next block.
        level = 1.1 * float(np.abs(out[:, 0]).max()) + 1e-4
    assert len(found) == 1 and 2300 < found[0] < 2700
    assert safety.feedback.events == 1
    assert max(out_peaks[-50:]) < 0.1                         # ducked: the loop no longer runs away


def test_a_sudden_jump_of_a_tone_is_limited_not_taken_for_feedback():
    found = []
    safety = SpeakerSafety(RATE, 2, on_feedback=found.append)
    run(safety, np.concatenate([tone(440, 0.5, 0.01), tone(440, 1.0, 0.9)]))
    assert found == []
