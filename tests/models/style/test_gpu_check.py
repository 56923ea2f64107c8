"""The prepared accelerator script runs the shipped .keras in float16 and
reports every size (here on the CPU under TensorFlow; on a lent GPU under JAX)."""

import json

from models.style.gpu_check import SIZES, main


def test_gpu_check_reports_each_size(tmp_path):
    out = tmp_path / "gpu.json"
    assert main(["--frames", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["float16"] is True
    for label in SIZES:
        assert figures[f"p50_{label}_ms"] > 0
    assert figures["psnr_float16_vs_float32_256_db"] > 30
