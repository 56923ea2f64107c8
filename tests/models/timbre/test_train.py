"""A tiny timbre training on a few rendered tunes: it checkpoints, resumes with
the same weights, exports a step the engine's sequence runtime runs (and that
matches the Keras network frame for frame), and the evaluation reads it."""
import json

import numpy as np
import pytest


def test_tiny_training_checkpoints_resumes_exports_and_evaluates(rendered, tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from engine.runtime.sequence import SequenceModel
    from models.timbre import eval as timbre_eval
    from models.timbre import network
    from models.timbre.train import Settings, Trainer, write_artifacts

    monkeypatch.setenv("TENSORSTAGE_DATA_CACHE", str(rendered))
    settings = Settings(out_dir=tmp_path / "run", instruments=("violin", "flute"), steps=3, batch=2, units=16,
                        checkpoint_every_s=1e9)
    lines = []
    trainer = Trainer(settings, progress=lines.append)
    assert trainer.run()["step"] == 3
    saved = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert saved["step"] == 3 and np.isfinite(saved["validation_loss"])
    assert (tmp_path / "run" / "preview.wav").stat().st_size > 1000
    settings.steps = 5
    resumed = Trainer(settings, progress=lines.append)
    assert resumed.state["step"] == 3 and any("resumed at step 3" in line for line in lines)
    for a, b in zip(trainer.model.get_weights(), resumed.model.get_weights()):
        assert np.array_equal(a, b)
    assert resumed.run()["step"] == 5
    card = write_artifacts(resumed)
    assert card["instruments"] == ["violin", "flute"]
    # The LiteRT step, frame by frame, is the Keras network over the sequence.
    step = SequenceModel(tmp_path / "run" / "timbre.tflite")
    x = network.scale_inputs(np.linspace(300, 600, 40), np.linspace(-50, -20, 40), [1.0, 0.0])
    stepped = np.concatenate([step.step(row) for row in x])
    whole = np.asarray(resumed.model(x[None]))[0]
    np.testing.assert_allclose(stepped, whole, rtol=1e-3, atol=1e-5)
    figures = timbre_eval.run(tmp_path / "run" / "timbre.tflite", tunes_per_instrument=1, seconds=2.0,
                              progress=lambda *_: None)
    for name in ("violin", "flute"):
        assert figures[f"{name}_floor_spectral_distance"] < figures[f"{name}_baseline_spectral_distance"] * 1.5
        assert figures[f"{name}_model_spectral_distance"] > 0
    assert 0 <= figures["f0_outliers_over_50_cents_pct"] <= 100
    assert "violin" in timbre_eval.table(figures)
