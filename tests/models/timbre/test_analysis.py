"""The analysis that makes the training targets measures what the engine's
synthesizer would need: harmonic amplitudes at the known f0, noise band gains
of what is left, loudness as the live tracker reads it."""
import numpy as np
import pytest

from engine.audio.synth import Controls, HarmonicNoiseSynth
from models.timbre import analysis


def test_harmonic_amplitudes_of_a_known_tone_are_measured():
    rate, seconds, f0 = analysis.RATE, 1.0, 220.0
    t = np.arange(int(rate * seconds)) / rate
    amps = {1: 0.3, 2: 0.1, 5: 0.05}
    audio = sum(a * np.sin(2 * np.pi * k * f0 * t + k) for k, a in amps.items())
    labels = np.full(int(seconds * 100), f0)
    result = analysis.analyse(audio, labels)
    middle = result["harmonics"][50:150]
    for k, a in amps.items():
        assert np.median(middle[:, k - 1]) == pytest.approx(a, rel=0.02)
    assert np.median(middle[:, 2]) < 0.002                           # the third harmonic is absent
    assert np.isnan(middle[0, 40])                                   # 41 x 220 Hz > 8 kHz: not measured
    assert np.median(result["noise"][50:150]) < 0.002


def test_noise_band_gains_match_the_synthesizers_noise():
    synth = HarmonicNoiseSynth(analysis.RATE, analysis.HOP, 60, 65, top_hz=8000, noise_top_hz=8000, seed=0)
    gains = np.linspace(0.01, 0.05, 65)
    audio = np.concatenate([synth.render(Controls(0.0, 0.0, np.zeros(60), gains)) for _ in range(400)])
    result = analysis.analyse(audio, np.zeros(len(audio) // 160))
    measured = np.sqrt(np.mean(result["noise"][40:-40] ** 2, axis=0))
    # Bands 2..62 (the edges hold half a band): within 10 % of what the synthesizer was told.
    np.testing.assert_allclose(measured[2:-2], gains[2:-2], rtol=0.1)


def test_held_pitch_fills_rests_and_the_start():
    f0 = np.array([0, 0, 440, 440, 0, 0, 330, 0], float)
    assert list(analysis.held(f0)) == [440, 440, 440, 440, 440, 440, 330, 330]
    assert not analysis.held(np.zeros(4)).any()


def test_loudness_is_the_rms_of_the_last_10_ms():
    audio = np.concatenate([np.zeros(1600), 0.5 * np.ones(1600)])
    loud = analysis.loudness_db(audio, len(audio) // analysis.HOP)
    assert loud[5] < -100 and loud[-3] == pytest.approx(20 * np.log10(0.5), abs=0.01)
