import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_status_shows_runs_restarts_last_errors_and_crash_reports(tmp_path):
    state = tmp_path / "state"
    assert cli("status", "--state-dir", str(state)).returncode == 1        # nothing ran yet
    ran = cli("run", "--headless", "--quiet", "--no-osc", "--duration", "1", "--output-dir", str(tmp_path / "o"),
              "--state-dir", str(state))
    assert ran.returncode == 0, ran.stderr
    log = state / "logs" / "default.log"
    log.write_text(log.read_text() + "2026-11-29T10:00:00.000+01:00 ERROR   [camera] the camera went away\n")
    (state / "crashes").mkdir(exist_ok=True)
    (state / "crashes" / "20261129T090000.000000Z-default.txt").write_text("tensorstage crash report\n")
    said = cli("status", "--state-dir", str(state))
    assert said.returncode == 0, said.stderr
    lines = said.stdout.splitlines()
    assert lines[0].startswith("default: stopped ") and "(--duration 1 s reached)" in lines[0]
    assert "starts 1, restarts after a failure 0" in lines[1]
    assert any("[camera] the camera went away" in line for line in lines)
    assert any(line.strip().startswith("crash reports: 1, newest") for line in lines)
