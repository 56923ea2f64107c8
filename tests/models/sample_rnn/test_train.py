"""The sample RNN's textures, its export (the engine's numba loop scores
held-out audio as the Keras network does) and a tiny training that
checkpoints, resumes, writes its artifacts and is evaluated against the
baselines."""
import json

import numpy as np
import pytest

from engine.runtime import sample_rnn as rnn
from models.sample_rnn import eval as sample_eval
from models.sample_rnn import textures


def test_textures_are_fixed_by_their_seed_and_splits_differ():
    a = textures.clip("rain", "train", 0, 1.0)
    assert np.array_equal(a, textures.clip("rain", "train", 0, 1.0))
    assert not np.allclose(a, textures.clip("rain", "test", 0, 1.0))
    for name in textures.TEXTURES:
        x = textures.clip(name, "validation", 1, 1.0)
        assert x.dtype == np.float32 and np.abs(x).max() <= 0.9 + 1e-6
        assert 0.02 < np.sqrt(np.mean(x ** 2)) < 0.2
    with pytest.raises(ValueError, match="no texture 'snow'"):
        textures.clip("snow", "train", 0)


def test_baselines_know_noise_from_a_tone():
    t = np.arange(16000) / rnn.RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, 16000)
    assert sample_eval.unigram_bits(noise) > 6.5
    # A steady tone is all but certain to linear prediction, noise is not.
    assert sample_eval.linear_prediction_bits(tone)[rnn.WINDOW:].mean() < 3
    assert sample_eval.linear_prediction_bits(noise)[rnn.WINDOW:].mean() > 6


def test_the_exported_loop_scores_as_the_keras_network(tmp_path):
    pytest.importorskip("tensorflow")
    from models.sample_rnn import data, export, network

    model = network.build(4, units=32, hidden=16, embed=8)
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign((rng.standard_normal(v.shape) * 0.3).astype("float32"))
    clips = data.load("validation", ["wind"], clips=1, seconds=0.1)
    ix = clips.indices(0)
    steps = len(ix["target"])
    texture = np.zeros((1, steps, 4), np.float32)
    texture[..., 1] = 1
    logits = np.asarray(model.predict_on_batch([ix["sample"][None], ix["prediction"][None],
                                                ix["excitation"][None], texture]))[0]
    weights = export.weights_of(model, list(textures.TEXTURES))
    weights.save(tmp_path / "w.npz")
    generator = rnn.Generator(rnn.Weights.load(tmp_path / "w.npz"))
    x, p = clips.audio[0], clips.prediction[0]
    bits = generator.score(x, [0, 1, 0, 0])[1:]
    # The same probabilities from Keras's logits, mapped from excitation bins onto the sample's bin.
    keras_bits = []
    for t in range(steps):
        probs = np.exp(logits[t] - logits[t].max())
        cumulative = np.concatenate([[0], np.cumsum(probs / probs.sum())])
        k = rnn.mu_encode(x[t + 1])
        mass = np.diff(np.interp([generator.s_lo[k] - p[t + 1], generator.s_hi[k] - p[t + 1]],
                                 generator.edges, cumulative))[0]
        keras_bits.append(np.log2(max(mass, 1e-12)))
    difference = np.abs(np.array(keras_bits) - bits)
    assert np.median(difference) < 0.01 and np.mean(difference) < 0.05


def test_tiny_training_checkpoints_resumes_exports_and_evaluates(tmp_path):
    pytest.importorskip("tensorflow")
    from models.sample_rnn.train import Settings, Trainer, write_artifacts

    settings = Settings(out_dir=tmp_path / "run", steps=3, batch=2, units=16, hidden=8, clips=1,
                        checkpoint_every_s=1e9)
    lines = []
    assert Trainer(settings, progress=lines.append).run()["step"] == 3
    assert (tmp_path / "run" / "preview.wav").exists()
    settings.steps = 5
    again = Trainer(settings, progress=lines.append)
    assert any("resumed at step 3" in line for line in lines)
    assert again.run()["step"] == 5
    card = write_artifacts(again)
    assert card["units"] == 16 and card["textures"] == list(textures.TEXTURES)
    with pytest.raises(ValueError, match="units 16, not 32"):
        Trainer(Settings(out_dir=tmp_path / "run", steps=6, units=32, hidden=8, clips=1))
    figures = sample_eval.run(tmp_path / "run" / "sample_rnn.npz", seconds=0.5, progress=lines.append)
    for name in textures.TEXTURES:
        assert 0 < figures[f"{name}_bits_per_sample"] < 16
        assert figures[f"{name}_unigram_bits_per_sample"] > figures[f"{name}_linear_prediction_bits_per_sample"] - 2
    assert isinstance(figures["targets_met"], bool)
    assert json.loads(json.dumps(figures))["textures"] == ",".join(textures.TEXTURES)
