"""`bench models` measures the shipped style model and writes flat JSON."""

import json

from engine.cli import main


def test_bench_models_reports_the_shipped_style_model(tmp_path, capsys):
    out = tmp_path / "models.json"
    assert main(["bench", "models", "--frames", "5", "--no-keras", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    for key in ("style_int8_256_1t_p50_ms", "style_int8_256_1t_p95_ms", "style_int8_256_2t_fps",
                "style_int8_192_1t_fps", "style_int8_320_1t_fps", "style_fp16_256_1t_fps",
                "convnet_int8_256_1t_fps"):
        assert figures[key] > 0, key
    assert 0.1 < figures["style_int8_256_1t_p50_ms"] < 1000          # loose sanity only
    assert figures["swap_fps_before"] > 10 and figures["swap_fps_ratio"] > 0.5   # a live swap kept flowing
    assert 0 < figures["swap_max_gap_ms"] < 1000
    assert "style int8 256px" in capsys.readouterr().out
