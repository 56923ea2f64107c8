"""`eval colorize` on one held-out photo, through the colorize node: every
figure present and sane; and the GPU check runs the shipped .keras in float16."""

import json

from engine.cli import main
from models.colorize.gpu_check import SIZES, main as gpu_check
from tests.conftest import require


def test_eval_colorize_writes_the_quality_figures(tmp_path):
    from models.common import data
    test_split = [e for e in data.read_manifest() if e.split == "test" and e.kind == "photo"]
    require(bool(data.select(test_split)), f"held-out photos ({data.install_hint(['opencv-doc'])})")
    out = tmp_path / "colorize.json"
    assert main(["eval", "colorize", "--photos", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["photos"] == 1
    for key in ("grey_psnr_db", "automatic_psnr_db", "hints_psnr_db", "levin_psnr_db"):
        assert 5 < figures[key] < 60, key
    assert 0 < figures["colourfulness_ratio"] < 5
    # Lower saturation, less colour: the sweep really turns the node's saturation down.
    assert (figures["colourfulness_ratio_at_saturation_60pct"] < figures["colourfulness_ratio_at_saturation_80pct"]
            < figures["colourfulness_ratio"])
    assert 0 < figures["temporal_error_stabilized"] < 1 and figures["frames_to_settle_after_cut"] >= 0


def test_gpu_check_reports_each_size(tmp_path):
    out = tmp_path / "gpu.json"
    assert gpu_check(["--frames", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["float16"] is True
    for label in SIZES:
        assert figures[f"p50_{label}_ms"] > 0
    assert figures["psnr_float16_vs_float32_256_db"] > 30


def test_the_validation_split_is_another_set_of_photos(tmp_path):
    from models.common import data
    by_split = {s: [e.id for e in data.select(data.read_manifest(), split=s, kind="photo")] for s in ("test", "validation")}
    require(all(by_split.values()), f"held-out photos ({data.install_hint(['opencv-doc'])})")
    out = tmp_path / "validation.json"
    assert main(["eval", "colorize", "--split", "validation", "--photos", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["split"] == "validation" and figures["photos"] == 1
    names, _ = data.held_out_photos(64, None, "validation")
    assert names == by_split["validation"] and not set(names) & set(by_split["test"])
