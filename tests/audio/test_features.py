"""Features on signals whose answers are known, and on a real trumpet."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.audio import features
from tests.conftest import require, require_file

RATE = 48000


def sine(freq: float, seconds: float = 0.1, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_loudness_of_a_sine():
    assert features.loudness_db(sine(440)) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.05)
    assert features.loudness_db(np.zeros(2048, np.float32)) == -100.0


@pytest.mark.parametrize("freq", [65.0, 110.0, 220.0, 440.0, 880.0])
def test_yin_finds_the_pitch_of_a_sine(freq):
    f0, confidence = features.yin(sine(freq)[:2048], RATE)
    assert f0 == pytest.approx(freq, rel=0.003)       # 5 cents
    assert confidence > 0.9


def test_yin_finds_the_fundamental_of_a_harmonic_tone():
    t = np.arange(2048) / RATE
    saw = sum(np.sin(2 * np.pi * 110 * k * t) / k for k in range(1, 20)).astype(np.float32)
    f0, confidence = features.yin(saw, RATE)
    assert f0 == pytest.approx(110, rel=0.003) and confidence > 0.8


def test_yin_says_noise_is_unpitched():
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 2048).astype(np.float32)
    f0, confidence = features.yin(noise, RATE)
    assert f0 == 0.0 or confidence < 0.5


def test_centroid_of_a_sine_is_its_frequency():
    assert features.centroid_hz(features.magnitude(sine(1000)[:2048]), RATE) == pytest.approx(1000, rel=0.03)


def test_tempo_of_a_click_envelope():
    frame_rate = RATE / 1024
    envelope = np.zeros(int(8 * frame_rate))
    envelope[np.round(np.arange(0, 8, 0.5) * frame_rate).astype(int)] = 1.0   # 120 BPM
    bpm, period = features.tempo(envelope, frame_rate)
    assert bpm == pytest.approx(120, abs=3)


def test_yin_on_a_real_trumpet_recording_agrees_with_its_spectrum():
    """LMMS's trumpet01.ogg (Debian lmms-common, GPL-2+): a held note."""
    source = Path("/usr/share/lmms/samples/instruments/trumpet01.ogg")
    require_file(str(source), "lmms-common")
    require(shutil.which("ffmpeg") is not None, "ffmpeg (apt install ffmpeg)")
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(source), "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    audio = np.frombuffer(raw, np.float32)
    f0s = [f0 for start in range(0, len(audio) - 2048, 1024)
           for f0, confidence in [features.yin(audio[start:start + 2048], RATE)] if confidence > 0.8]
    assert len(f0s) > 50
    # An independent estimate: the spacing of the harmonics in a 1 s spectrum of the middle.
    middle = audio[len(audio) // 2 - RATE // 2: len(audio) // 2 + RATE // 2]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), 8 * len(middle)))
    hz = np.fft.rfftfreq(8 * len(middle), 1 / RATE)
    band = (hz > 100) & (hz < 3000)
    s, f = spectrum[band], hz[band]
    is_peak = (s[1:-1] > s[:-2]) & (s[1:-1] > s[2:]) & (s[1:-1] > 0.1 * s.max())
    harmonics = f[1:-1][is_peak]
    spacing = np.median(np.diff(harmonics))
    assert len(harmonics) >= 3
    assert np.median(f0s) == pytest.approx(spacing, rel=0.006)     # 10 cents
