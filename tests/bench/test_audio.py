import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_audio_measures_underflows_and_round_trip(pipewire, tmp_path):
    """The engine's design (the audio process), on two streams and on one duplex stream."""
    out = tmp_path / "audio.json"
    result = subprocess.run([sys.executable, "-m", "engine", "bench", "audio", "--seconds", "2", "--blocks", "256",
                             "--streams", "both", "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                            timeout=240)
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    figures = json.loads(out.read_text())
    # Loose sanity only; the figures themselves live in docs/BENCHMARKS.md.
    assert isinstance(figures["duplex_xruns_256"], int)         # one duplex stream, beside two streams
    assert 0 < figures["duplex_load_256_round_trip_ms"] < 500
    assert "256 load (duplex)" in result.stdout
    assert isinstance(figures["xruns_256"], int) and isinstance(figures["idle_xruns_256"], int)
    assert 0 < figures["load_256_round_trip_ms"] < 500
    assert figures["load_256_inferences_per_s"] > 5             # the load really ran
    assert figures["idle_256_period_max_ms"] < 1000
    assert isinstance(figures["style_xruns_256"], int)           # the live style patch beside the audio
    assert figures["style_fps"] > 3


def test_bench_audio_measures_the_in_process_design_too(pipewire, tmp_path):
    out = tmp_path / "audio.json"
    result = subprocess.run([sys.executable, "-m", "engine", "bench", "audio", "--seconds", "2", "--blocks", "256",
                             "--design", "inprocess", "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                            timeout=180)
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    figures = json.loads(out.read_text())
    assert isinstance(figures["inprocess_xruns_256"], int) and isinstance(figures["inprocess_idle_xruns_256"], int)
    assert figures["inprocess_load_256_inferences_per_s"] > 5
    assert 0 < figures["inprocess_load_256_round_trip_ms"] < 500
    assert "256 load (in-process)" in result.stdout
    assert "xruns_256" not in figures                           # only the design asked for
