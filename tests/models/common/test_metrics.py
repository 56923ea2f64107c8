"""Metrics on cases whose answer is known."""

import numpy as np
import pytest

from engine.audio.features import yin
from models.common import metrics

RNG = np.random.default_rng(0)


def test_gram_and_style_distance_are_zero_for_the_style_itself_and_grow_with_a_change():
    feats = [RNG.random((2, 8, 8, 4)), RNG.random((2, 4, 4, 6))]
    grams = [metrics.gram(f)[0] for f in feats]
    d = metrics.style_distance(feats, grams)
    assert d[0] == pytest.approx(0.0, abs=1e-12) and d[1] > 0
    # A constant feature map of value v has every Gram entry v * v.
    assert np.allclose(metrics.gram(np.full((1, 3, 5, 2), 3.0)), 9.0)


def test_content_distance_of_identical_features_is_zero_and_a_unit_shift_gives_one():
    feats = [RNG.random((3, 8, 8, 4))]
    assert np.allclose(metrics.content_distance(feats, feats), 0.0)
    assert np.allclose(metrics.content_distance([feats[0] + 1.0], feats), 1.0)


def test_psnr_ssim_of_known_differences():
    a = RNG.random((64, 64, 3))
    assert metrics.psnr(a, a) == float("inf")
    assert metrics.psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-9)   # mse 0.01
    assert metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-9)
    noisy = np.clip(a + RNG.normal(0, 0.2, a.shape), 0, 1)
    assert metrics.ssim(a, noisy) < 0.9


def test_colourfulness_grey_is_zero_and_pure_red_is_known():
    assert metrics.colourfulness(np.full((8, 8, 3), 0.5)) == pytest.approx(0.0, abs=1e-9)
    red = np.zeros((8, 8, 3)); red[..., 0] = 1.0
    # rg = 255, yb = 127.5, no spread: 0.3 * hypot(255, 127.5)
    assert metrics.colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def _photo():
    # a smooth but textured test image (no package needed)
    y, x = np.mgrid[0:480, 0:640] / 40.0
    return np.stack([0.5 + 0.4 * np.sin(x), 0.5 + 0.4 * np.cos(y), 0.5 + 0.4 * np.sin(x + y)], -1)


@pytest.mark.parametrize("move", [{"pan_px": 3.0}, {"zoom": 1.02}, {"pan_px": 2.0, "zoom": 0.99}])
def test_a_model_that_follows_the_camera_has_near_zero_temporal_error_and_flicker_is_measured(move):
    frames, maps = metrics.camera_move(_photo(), 6, size=128, **move)
    assert len(maps) == 5
    steady = metrics.temporal_error(frames, maps)
    assert steady < 0.005                      # only interpolation error is left
    flicker = frames + np.array([0.05, -0.05] * 3)[:, None, None, None]
    assert metrics.temporal_error(flicker, maps) == pytest.approx(0.1, abs=0.01)


def test_frames_to_settle_counts_an_exponential_approach():
    final = np.full((4, 4, 3), 0.5)
    outputs = [np.zeros((4, 4, 3))] * 3 + [final + 0.5 ** k * 0.4 for k in range(10)] + [final] * 3
    # 0.4 * 0.5**k <= 0.02 first at k = 5 (0.0125)
    assert metrics.frames_to_settle(np.stack(outputs), cut_index=3, tolerance=0.02) == 5
    assert metrics.frames_to_settle(np.stack([final] * 5), cut_index=1) == 0


def test_cents_error_of_a_known_detuning_and_of_yin_on_a_sine():
    ref = np.full(50, 220.0)
    result = metrics.f0_cents_error(ref * 2 ** (10 / 1200), ref)
    assert result["cents_mean"] == pytest.approx(10.0) and result["gross_error_share"] == 0.0
    octave = ref.copy(); octave[:10] *= 2
    assert metrics.f0_cents_error(octave, ref)["gross_error_share"] == pytest.approx(0.2)
    sr, f0 = 16000, 261.63
    t = np.arange(2048) / sr
    estimate, confidence = yin(np.sin(2 * np.pi * f0 * t), sr)
    assert metrics.f0_cents_error(np.array([estimate]), np.array([f0]))["cents_mean"] < 5.0
    assert confidence > 0.9


def test_loudness_correlation_and_spectral_distance_and_bits():
    curve = np.linspace(-60, -10, 100)
    assert metrics.loudness_correlation(curve, 2 * curve + 3) == pytest.approx(1.0)
    assert metrics.loudness_correlation(curve, -curve) == pytest.approx(-1.0)
    sr = 16000
    t = np.arange(sr) / sr
    a440, a445, a880 = (np.sin(2 * np.pi * f * t) for f in (440, 445, 880))
    assert metrics.multiscale_spectral_distance(a440, a440) == 0.0
    assert 0 < metrics.multiscale_spectral_distance(a440, a445) < metrics.multiscale_spectral_distance(a440, a880)
    assert metrics.bits_per_sample(np.full(1000, 1 / 256)) == pytest.approx(8.0)
    assert metrics.bits_per_sample(np.ones(10)) == pytest.approx(0.0)


def test_log_mel_distance_sees_the_envelope_not_the_noises_random_draw():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16000) * 0.1, rng.standard_normal(16000) * 0.1
    louder = rng.standard_normal(16000) * 0.3
    same_spectrum = metrics.log_mel_distance(a, b, 16000)
    assert same_spectrum < 0.3 * metrics.log_mel_distance(a, louder, 16000)
    assert same_spectrum < 0.2 * metrics.multiscale_spectral_distance(a, b)
    assert metrics.mel_filterbank(16000, 1024, 64).shape == (64, 513)
