import json
import subprocess
import sys
from pathlib import Path

from engine.bench.soak import slope_per_hour

REPO = Path(__file__).resolve().parents[2]


def test_slope_per_hour_is_least_squares_in_units_per_hour():
    times = [0.0, 600.0, 1200.0, 1800.0]
    assert abs(slope_per_hour(times, [100.0, 100.5, 101.0, 101.5]) - 3.0) < 1e-9     # 0.5 MB per 10 min
    assert slope_per_hour(times, [7, 7, 7, 7]) == 0.0
    assert slope_per_hour([1.0, 2.0], [1.0, 2.0]) is None                           # too few to say


def test_a_short_soak_samples_the_running_engine_under_traffic(tmp_path, ffmpeg, pipewire):
    out = tmp_path / "soak.json"
    result = subprocess.run([sys.executable, "-m", "engine", "bench", "soak", "--minutes", "0.5", "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["samples"] >= 5 and figures["not_up_samples"] == 0
    assert 20 < figures["rss_max_mb"] < 4000 and figures["fds_max"] > 5 and figures["children_min"] >= 2
    assert figures["screen_fps_mean"] > 10 and figures["speakers_fps_mean"] > 150     # 48 kHz / 256
    assert figures["osc_messages"] > 300 and figures["scene_recalls"] >= 1
    assert "rss_slope_mb_per_h" in figures and "soak of the soak patch" in result.stdout
