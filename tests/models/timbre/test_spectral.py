"""The spectral stage's differentiable synthesizer is the engine's, sample for
sample, and its distance is the evaluation's; a tiny spectral fine-tune runs,
checkpoints and resumes."""
import json

import numpy as np
import pytest

from engine.audio.synth import Controls
from models.common.metrics import multiscale_spectral_distance
from models.timbre import analysis


def _controls(frames: int, rng):
    f0 = np.geomspace(200.0, 1400.0, frames)             # harmonics cross 8 kHz: renormalised and faded
    amplitude = rng.uniform(0.05, 0.5, frames)
    distribution = rng.dirichlet(np.ones(analysis.HARMONICS), frames)
    gains = rng.uniform(0.001, 0.02, (frames, analysis.BANDS))
    return f0, np.concatenate([amplitude[:, None], distribution, gains], 1).astype(np.float32)


def test_differentiable_synth_plays_what_the_engine_plays():
    pytest.importorskip("tensorflow")
    from models.timbre import spectral
    frames, seed = 24, 5
    f0, y = _controls(frames + 1, np.random.default_rng(1))
    engine = spectral.engine_synth()
    engine._rng = np.random.default_rng(seed)
    played = [engine.render(Controls(float(f), float(c[0]), c[1:1 + analysis.HARMONICS].astype(np.float64),
                                     c[1 + analysis.HARMONICS:].astype(np.float64))) for f, c in zip(f0, y)]
    # The engine's block 0 starts from silence; compare blocks 1.. with its phase after block 0.
    phase0 = np.array([(f0[0] * analysis.HOP / analysis.RATE) % 1.0])
    draws = np.random.default_rng(seed).standard_normal((1, frames + 1, 2 * analysis.HOP))
    spectrum = np.fft.rfft(draws, axis=-1)
    f0_per_sample, phase = spectral.glide_inputs(f0[None], phase0)
    ours = spectral.DifferentiableSynth().render(
        y[None], f0[None].astype(np.float32), f0_per_sample, phase,
        spectrum.real.astype(np.float32), spectrum.imag.astype(np.float32))
    expected = np.concatenate(played[1:])
    assert np.abs(expected).max() > 0.05
    np.testing.assert_allclose(np.asarray(ours)[0], expected, atol=2e-4)


def test_spectral_distance_is_the_evaluations():
    pytest.importorskip("tensorflow")
    from models.timbre import spectral
    rng = np.random.default_rng(2)
    a = rng.standard_normal(6000).astype(np.float32) * 0.1
    b = (a + rng.standard_normal(6000) * 0.02).astype(np.float32)
    ours = float(spectral.spectral_distance(a[None], b[None]))
    assert ours == pytest.approx(multiscale_spectral_distance(a, b), rel=1e-3)
    assert float(spectral.spectral_distance(a[None], a[None])) == pytest.approx(0.0, abs=1e-6)


def test_tiny_spectral_stage_starts_from_a_first_stage_model_and_resumes(rendered, tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from models.timbre.spectral import SpectralTrainer
    from models.timbre.train import Settings, Trainer, write_artifacts

    monkeypatch.setenv("TENSORSTAGE_DATA_CACHE", str(rendered))
    first = Settings(out_dir=tmp_path / "first", instruments=("violin", "flute"), steps=1, batch=2, units=16,
                     checkpoint_every_s=1e9)
    trainer = Trainer(first, progress=lambda *_: None)
    trainer.run()
    write_artifacts(trainer)
    settings = Settings(out_dir=tmp_path / "spectral", instruments=("violin", "flute"), steps=2, batch=2,
                        units=16, checkpoint_every_s=1e9, stage="spectral", init=tmp_path / "first" / "timbre.keras")
    lines = []
    spectral = SpectralTrainer(settings, progress=lines.append)
    for a, b in zip(trainer.model.get_weights(), spectral.model.get_weights()):
        assert np.array_equal(a, b)
    state = spectral.run()
    assert state["step"] == 2 and state["stage"] == "spectral" and np.isfinite(state["validation_loss"])
    assert state["validation_loss"] > 0
    settings.steps = 3
    resumed = SpectralTrainer(settings, progress=lines.append)
    assert resumed.state["step"] == 2 and any("resumed at step 2" in line for line in lines)
    assert resumed.run()["step"] == 3
    card = write_artifacts(resumed)
    assert "spectral distance" in card["training"]["loss"] and card["training"]["first_stage"]["steps"] == 1
    assert json.loads((tmp_path / "spectral" / "timbre.json").read_text())["training"]["steps"] == 3
    # A first-stage folder cannot be resumed as a spectral one.
    with pytest.raises(ValueError, match="stage"):
        SpectralTrainer(Settings(out_dir=tmp_path / "first", instruments=("violin", "flute"), units=16,
                                 stage="spectral", init=tmp_path / "first" / "timbre.keras"))
