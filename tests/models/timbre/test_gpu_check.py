"""The prepared accelerator script runs the shipped timbre .keras in float16 and
reports both shapes (here on the CPU under TensorFlow; on a lent GPU under JAX)."""

import json

import numpy as np
import pytest


def test_gpu_check_reports_each_shape(tmp_path):
    pytest.importorskip("tensorflow")
    from models.timbre.gpu_check import SHAPES, main
    out = tmp_path / "gpu.json"
    assert main(["--frames", "3", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["float16"] is True
    for label in SHAPES:
        assert figures[f"p50_{label}_ms"] > 0 and figures[f"realtime_factor_{label}"] > 1
        assert np.isfinite(figures[f"max_float16_error_{label}_db"])
