"""The harmonic-plus-noise synthesizer: tuning that holds for hours, nothing
above the top frequency, steady click-free noise, controls that mean what they say."""
from fractions import Fraction

import numpy as np
import pytest

from engine.audio.synth import Controls, HarmonicNoiseSynth, advance_phase


def test_phase_stays_exact_over_eight_simulated_hours():
    # A violin A4 plus a quarter-tone, at 48 kHz in 256-frame blocks: the wrapped
    # float64 phase after 8 h is compared with exact rational arithmetic.
    rate, block, f0 = 48000, 256, 452.893
    blocks = 8 * 3600 * rate // block
    phase, step = 0.0, f0 * block / rate
    for _ in range(blocks):
        phase = (phase + step) % 1.0
    exact = (Fraction(f0) * block * blocks / rate) % 1
    error_cycles = abs(phase - float(exact))
    error_cycles = min(error_cycles, 1 - error_cycles)
    # The 60th harmonic's error, in cents of a cycle: far below anything audible.
    assert error_cycles * 60 < 1e-6


def test_advance_phase_matches_cumulative_sum_and_wraps():
    phases, wrapped = advance_phase(0.75, 100.0, 200.0, 480, 48000)
    assert 0 <= wrapped < 1
    assert phases[-1] % 1.0 == pytest.approx(wrapped)
    assert np.all(np.diff(phases) > 0)


def spectrum_peak_hz(signal, rate):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)]


def test_pitch_amplitude_and_harmonics_are_what_the_controls_say():
    synth = HarmonicNoiseSynth(48000, 256, harmonics=4, bands=8)
    distribution = np.array([0.0, 1.0, 0.0, 0.0])        # only the second harmonic
    blocks = [synth.render(Controls(300.0, 0.5, distribution, np.zeros(8))) for _ in range(200)]
    steady = np.concatenate(blocks[10:])
    assert spectrum_peak_hz(steady, 48000) == pytest.approx(600.0, abs=2.0)
    assert np.abs(steady).max() == pytest.approx(0.5, rel=0.02)


def test_harmonics_at_or_above_the_top_are_removed_and_the_rest_renormalised():
    synth = HarmonicNoiseSynth(16000, 80, harmonics=10, bands=8)
    distribution = np.full(10, 0.1)
    out = np.concatenate([synth.render(Controls(3000.0, 0.6, distribution, np.zeros(8))) for _ in range(200)])
    spectrum = np.abs(np.fft.rfft(out[4000:] * np.hanning(len(out) - 4000)))
    frequencies = np.fft.rfftfreq(len(out) - 4000, 1 / 16000)
    # Only 3 and 6 kHz lie below Nyquist (8 kHz); nothing aliases back (9 kHz would fold to 7).
    assert spectrum[np.abs(frequencies - 7000) < 100].max() < 1e-3 * spectrum.max()
    # Renormalised: the two left (3 and 6 kHz) share the amplitude, 0.3 each, RMS 0.3.
    assert out[4000:].std() == pytest.approx(0.3, rel=0.03)


def test_noise_level_holds_steady_and_follows_the_band_gains():
    synth = HarmonicNoiseSynth(48000, 256, bands=65, seed=1)
    flat = Controls(0.0, 0.0, np.zeros(60), np.full(65, 0.1))
    out = np.concatenate([synth.render(flat) for _ in range(800)])[512:]
    # Band gains reach 24 kHz, so unit white noise times 0.1 has std 0.1.
    assert out.std() == pytest.approx(0.1, rel=0.05)
    # The level inside a block and across block edges is the same (no window ripple).
    per_position = out[: 256 * 790].reshape(-1, 256).std(axis=0)
    assert per_position.max() / per_position.min() < 1.25


def test_a_block_edge_never_clicks_when_the_noise_stops():
    synth = HarmonicNoiseSynth(48000, 256, seed=2)
    loud = Controls(0.0, 0.0, np.zeros(60), np.full(65, 0.2))
    out = [synth.render(loud) for _ in range(50)]
    out += [synth.render(Controls.silent(60, 65)) for _ in range(3)]
    signal = np.concatenate(out)
    # After the last noisy block the tail fades through the window to exact silence.
    assert np.all(signal[-256:] == 0)
    assert np.abs(np.diff(signal)).max() < 8 * np.abs(np.diff(signal[:256 * 40])).std()


def test_a_note_starting_from_silence_does_not_sweep_from_zero_hz():
    synth = HarmonicNoiseSynth(48000, 256, harmonics=1, bands=4)
    synth.render(Controls.silent(1, 4))
    block = np.concatenate([synth.render(Controls(440.0, 0.5, np.ones(1), np.zeros(4))) for _ in range(40)])
    zero_crossings = np.nonzero(np.diff(np.signbit(block[:1024])))[0]
    # At 440 Hz from the first sample: a crossing every 54.5 samples.
    assert np.median(np.diff(zero_crossings)) == pytest.approx(48000 / 880, abs=2)
