"""The phrase evaluation's yardsticks: the key finder, the histograms, the
Markov baseline; and a tiny training that checkpoints, resumes, exports a
step that matches the Keras network, and is evaluated."""
import json

import numpy as np
import pytest

from engine.runtime import phrase
from models.phrase import eval as phrase_eval
from models.phrase.data import Melodies


def tokens(midi):
    return phrase.pitch_token(440.0 * 2 ** ((np.asarray(midi, float) - 69) / 12))


def test_the_key_finder_names_major_and_minor_scales():
    c_major = tokens(np.repeat([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60], 10))
    a_minor = tokens(np.repeat([57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57], 10))
    assert phrase_eval.key_of(c_major) == 0
    assert phrase_eval.key_of(a_minor) == 12 + 9
    assert phrase_eval.key_of(np.zeros(10, int)) is None


def test_histograms_and_their_distance():
    a = [tokens([60, 60, 62, 64])]
    assert phrase_eval.pitch_class_histogram(a)[0] == pytest.approx(0.5)
    assert phrase_eval.interval_histogram(a)[12 + 2] == pytest.approx(1.0)     # two whole-tone steps
    assert phrase_eval.total_variation(np.array([1.0, 0]), np.array([0, 1.0])) == 1.0


def test_the_markov_chain_learns_a_repeating_melody():
    p = np.tile(tokens([60, 60, 62, 62]), 50)
    melodies = Melodies([p], [np.full(len(p), 8)], ["t"])
    chain = phrase_eval.Markov(melodies, alpha=1e-4)
    # Each note lasts 2 frames: from a note, half the time it repeats, half it moves: ~ln 2 nats.
    assert chain.nll(melodies) == pytest.approx(np.log(2), abs=0.05)


def test_tiny_training_checkpoints_resumes_exports_and_evaluates(rendered, tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from engine.runtime.sequence import SequenceModel
    from models.phrase.train import Settings, Trainer, write_artifacts

    monkeypatch.setenv("TENSORSTAGE_DATA_CACHE", str(rendered))
    settings = Settings(out_dir=tmp_path / "run", steps=3, batch=2, units=16, checkpoint_every_s=1e9)
    lines = []
    trainer = Trainer(settings, progress=lines.append)
    assert trainer.run()["step"] == 3
    assert json.loads((tmp_path / "run" / "checkpoint.json").read_text())["step"] == 3
    assert (tmp_path / "run" / "preview.wav").stat().st_size > 1000
    settings.steps = 4
    resumed = Trainer(settings, progress=lines.append)
    assert resumed.state["step"] == 3 and any("resumed at step 3" in line for line in lines)
    assert resumed.run()["step"] == 4
    write_artifacts(resumed)
    step = SequenceModel(tmp_path / "run" / "phrase.tflite")
    x = phrase.one_hot(tokens([60, 62, 64, 65, 67]), np.full(5, 9))
    stepped = np.concatenate([step.step(row) for row in x])
    np.testing.assert_allclose(stepped, np.asarray(resumed.model(x[None]))[0], rtol=1e-3, atol=1e-4)
    figures = phrase_eval.run(tmp_path / "run" / "phrase.tflite", continuations=4, progress=lambda *_: None,
                              cache=rendered)
    assert figures["model_nll_nats_per_frame"] > 0 and figures["markov_nll_nats_per_frame"] > 0
    assert 0 <= figures["pitch_class_tv_distance"] <= 1
    assert "Markov" in phrase_eval.table(figures)


def test_the_shipped_model_keeps_a_primed_key_more_than_an_unprimed_one():
    from models.phrase.generate import continue_phrase
    rng = np.random.default_rng(0)
    stepper = phrase_eval.litert_stepper(phrase_eval.SHIPPED)
    primed, unprimed = [], []
    for tonic in (55, 58, 62, 65):                       # G, B flat, D, F major: a tune up and down the scale
        degrees = np.array([0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2, 0, 4, 7, 12, 7, 4, 0])
        prime = tokens(np.repeat(tonic + degrees, 10))
        key = tonic % 12
        assert phrase_eval.key_of(prime) == key
        for _ in range(5):
            p, _ = continue_phrase(None, prime, np.full(len(prime), 10), 300, 0.8, rng, stepper)
            primed.append(phrase_eval.in_scale_share(p, key))
            seed = tokens([int(rng.integers(55, 80))])[0]
            q, _ = continue_phrase(None, [seed] * 10, [10] * 10, 300, 0.8, rng, stepper)
            unprimed.append(phrase_eval.in_scale_share(q, key))
    # Unprimed melodies land in any key: about 7 of 12 pitch classes of theirs fall in a given scale.
    assert np.nanmean(primed) > np.nanmean(unprimed) + 0.1
