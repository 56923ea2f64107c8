"""The sample RNN's generator: mu-law, the backward-adaptive predictor, and the
numba loop (it generates finite, bounded sound, priming moves its state onto
what it heard, scoring and generating agree on what is likely, and a
broken weights file is named)."""
import numpy as np
import pytest

from engine.runtime import sample_rnn as rnn
from engine.runtime.backend import ModelError


def random_weights(units=16, hidden=8, textures=2, scale=0.3, seed=0):
    r = np.random.default_rng(seed)
    f = lambda *s: (r.standard_normal(s) * scale).astype(np.float32)     # noqa: E731
    return rnn.Weights(f(3 * units, units), f(3 * units), f(256, 3 * units), f(256, 3 * units), f(256, 3 * units),
                       f(textures, 3 * units), f(hidden, units), f(hidden), f(256, hidden), f(256),
                       [f"t{i}" for i in range(textures)])


def test_mu_law_round_trip_is_within_half_a_bin():
    x = np.linspace(-1, 1, 10001)
    k = rnn.mu_encode(x)
    assert k.min() == 0 and k.max() == 255
    edges = rnn.mu_edges()
    assert np.all(edges[k] <= x + 1e-12) and np.all(x <= edges[k + 1] + 1e-12)
    assert np.all(np.diff(edges) > 0)
    assert rnn.mu_decode(rnn.mu_encode(0.5)) == pytest.approx(0.5, rel=0.02)


def test_the_predictor_learns_a_resonance():
    # An AR(2) resonance at 1 kHz driven by noise: the predictor removes most of its power.
    r = np.random.default_rng(1)
    pole = 0.99 * np.exp(2j * np.pi * 1000 / rnn.RATE)
    a1, a2 = 2 * pole.real, -abs(pole) ** 2
    x = np.zeros(16000)
    e = r.standard_normal(16000) * 0.01
    for t in range(2, len(x)):
        x[t] = a1 * x[t - 1] + a2 * x[t - 2] + e[t]
    x /= np.abs(x).max()
    p = rnn.predictions(x)
    gain_db = 10 * np.log10(np.mean(x[rnn.WINDOW:] ** 2) / np.mean((x - p)[rnn.WINDOW:] ** 2))
    assert gain_db > 15
    a = rnn.lpc(x[1000:1320])
    poles = np.roots(np.concatenate([[1.0], -a]))
    strongest = poles[np.argmax(np.abs(poles))]
    assert abs(np.angle(strongest)) * rnn.RATE / (2 * np.pi) == pytest.approx(1000, abs=60)


def test_the_generator_makes_bounded_sound_and_keeps_state_across_calls():
    g = rnn.Generator(random_weights(), seed=0)
    first = g.generate(4000, [1, 0])
    assert first.dtype == np.float32 and np.all(np.isfinite(first)) and np.abs(first).max() <= 1.0
    assert first.std() > 1e-4
    h = g.h.copy()
    g.generate(10, [1, 0])
    assert not np.array_equal(h, g.h)
    g.reset()
    assert not g.h.any() and not g.history.any()


def test_priming_puts_what_was_heard_into_the_predictor_history():
    g = rnn.Generator(random_weights(), seed=0)
    heard = np.sin(2 * np.pi * 220 * np.arange(3200) / rnn.RATE) * 0.5
    g.prime(heard, [0, 1])
    np.testing.assert_allclose(g.history, heard[-rnn.WINDOW:], atol=1e-12)
    assert g.h.any()


def test_scoring_prefers_the_network_own_kind_of_sound():
    # What a network generates at temperature 0.7 costs it fewer bits than white noise does.
    g = rnn.Generator(random_weights(scale=0.5), seed=2)
    made = g.generate(8000, [1, 0], temperature=0.7).astype(np.float64)
    g.reset()
    own = -g.score(made, [1, 0]).mean()
    g.reset()
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, 8000)
    assert own < -g.score(noise, [1, 0]).mean() - 0.5


def test_a_broken_weights_file_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, w_hh=np.zeros((3, 1)), names=np.array(["a"]))
    with pytest.raises(ModelError, match="bad.npz"):
        rnn.Weights.load(bad)
    odd = tmp_path / "odd.npz"
    w = random_weights()
    w.w_hh = np.zeros((10, 16), np.float32)
    w.save(odd)
    with pytest.raises(ModelError, match="odd.npz.*w_hh"):
        rnn.Weights.load(odd)
    with pytest.raises(ModelError, match="no such model file"):
        rnn.Weights.load(tmp_path / "missing.npz")
