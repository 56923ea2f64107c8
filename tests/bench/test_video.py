import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]


def test_bench_video_measures_latency_from_pixels(display, tmp_path):
    require(importlib.util.find_spec("mss") is not None, "mss (pip install 'tensorstage[bench]')")
    out = tmp_path / "video.json"
    result = subprocess.run([sys.executable, "-m", "engine", "bench", "video", "--seconds", "3",
                             "--ndi-seconds", "2", "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    assert "glass-to-glass latency, from pixels (ms)" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["passthrough_frames_seen"] > 30, result.stdout + result.stderr
    # Loose sanity bounds only; the figures themselves live in docs/BENCHMARKS.md.
    assert figures["passthrough_decoded_fraction"] > 0.9
    assert 15 < figures["passthrough_fps"] <= 31
    assert 0 < figures["passthrough_p50_ms"] < 100
    assert figures["slow_fps"] < figures["passthrough_fps"]          # the slow node lowers the rate
    assert figures["slow_p95_ms"] < 250                               # ... not raises latency without bound
    assert figures["slow_dropped"] > 0
    if importlib.util.find_spec("cyndilib") is not None:       # the NDI rows: out and back in by name
        assert figures["ndi_720p_frames"] > 20, result.stdout + result.stderr
        assert 0 < figures["ndi_720p_p50_ms"] < 500
        assert figures["ndi_1080p_cpu_ms_per_frame"] > 0
