"""The pieces of colorization training that decide what the network learns:
simulated hints carry the true colour, and rare colours weigh more."""

import numpy as np

from models.colorize.train import BINS, colour_weights, quarter, simulate_hints, turn_hues


def test_simulated_hints_are_squares_of_the_true_mean_colour_and_sometimes_none():
    rng = np.random.default_rng(0)
    ab = rng.uniform(-0.5, 0.5, (200, 32, 32, 2)).astype(np.float32)
    planes = simulate_hints(ab, rng)
    hinted = planes[..., 2] > 0
    assert 0.3 < np.mean(~hinted.any(axis=(1, 2))) < 0.7            # about half have no hints at all
    i = int(np.argmax(hinted.any(axis=(1, 2))))
    ys, xs = np.nonzero(hinted[i])
    # Every hinted pixel holds a mean of true colours: inside the range of the truth.
    assert np.all(np.abs(planes[i, ys, xs, :2]) <= 0.5)
    assert np.all(planes[~hinted][:, :2] == 0)


def test_turned_hues_keep_the_hints_on_the_truth_and_leave_crops_without_hints_alone():
    rng = np.random.default_rng(1)
    ab = rng.uniform(-0.4, 0.4, (64, 16, 16, 2)).astype(np.float32)
    planes = simulate_hints(ab, rng)
    turned, turned_planes = turn_hues(ab, planes, 1.0, rng)
    hinted = planes[..., 2].any(axis=(1, 2))
    assert np.array_equal(turned[~hinted], ab[~hinted])               # the automatic crops keep their colour
    assert not np.allclose(turned[hinted], ab[hinted])
    # a turn keeps each colour's strength, and a hint still carries the truth's colour where it lies
    assert np.allclose(np.linalg.norm(turned, axis=-1), np.linalg.norm(ab, axis=-1), atol=1e-5)
    i = int(np.argmax(hinted))
    ys, xs = np.nonzero(planes[i, ..., 2])
    assert np.allclose(np.linalg.norm(turned_planes[i, ys, xs, :2], axis=-1),
                       np.linalg.norm(planes[i, ys, xs, :2], axis=-1), atol=1e-5)
    assert np.array_equal(turned_planes[..., 2], planes[..., 2])


def test_rare_colours_weigh_more_and_the_mean_weight_is_one():
    ab = np.zeros((10, 16, 16, 2), np.float32)
    ab[:, :2] = 0.6                                                  # a vivid colour on 1/8 of the pixels
    small = quarter(ab)
    weights = colour_weights(small, rebalance=0.5)
    index = np.clip(((small + 1) / 2 * BINS).astype(int), 0, BINS - 1)
    per_pixel = weights[index[..., 0], index[..., 1]]
    assert per_pixel.mean() == np.float32(1.0) or abs(per_pixel.mean() - 1.0) < 1e-4
    assert per_pixel[:, 0].mean() > 2 * per_pixel[:, -1].mean()      # the vivid rows weigh more than grey


def test_tiny_training_checkpoints_resumes_exports_and_runs(tmp_path, monkeypatch):
    import json

    import pytest
    pytest.importorskip("tensorflow")
    pytest.importorskip("skimage")
    from engine.runtime.contract import Role, TensorContract
    from engine.runtime.litert import LiteRTRunner
    from models.colorize.export import export
    from models.colorize.train import Settings, Trainer

    monkeypatch.setenv("TENSORSTAGE_DATA_CACHE", str(tmp_path / "cache"))
    settings = Settings(out_dir=tmp_path / "run", steps=3, batch=2, crop=32,
                        widths=(4, 8, 8), packages=["scikit-image"], checkpoint_every_s=1e9)
    lines = []
    trainer = Trainer(settings, progress=lines.append)
    assert trainer.run()["step"] == 3
    assert json.loads((tmp_path / "run" / "checkpoint.json").read_text())["step"] == 3
    assert (tmp_path / "run" / "preview.jpg").stat().st_size > 1000
    settings.steps = 5
    resumed = Trainer(settings, progress=lines.append)
    assert resumed.state["step"] == 3 and any("resumed at step 3" in line for line in lines)
    for a, b in zip(trainer.model.get_weights(), resumed.model.get_weights()):
        assert np.array_equal(a, b)
    assert resumed.run()["step"] == 5
    paths = export(resumed.model, tmp_path / "export", size=32)
    contract = TensorContract((Role("lightness", 4, (1,)), Role("hints", 4, (3,))), (Role("ab", 4, (2,)),))
    for path in paths.values():
        runner = LiteRTRunner(path, contract)
        out = runner.run(lightness=np.full((1, 32, 32, 1), 0.5, np.float32), hints=np.zeros((1, 32, 32, 3), np.float32))
        assert out["ab"].shape == (1, 8, 8, 2) and np.all(np.abs(out["ab"]) <= 1)
