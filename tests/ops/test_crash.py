import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.ops.crash import KEEP, CrashReporter, reports

REPO = Path(__file__).resolve().parents[2]


def test_a_report_has_the_traceback_patch_versions_and_last_status(tmp_path):
    crashes = CrashReporter(tmp_path, "show", "/shows/show.toml", last_status=lambda: {"screen": {"fps": 29.9}})
    try:
        raise ValueError("a bad frame")
    except ValueError as error:
        path = crashes.write("the engine died", type(error), error, error.__traceback__)
    text = path.read_text()
    assert "the engine died" in text and "ValueError: a bad frame" in text and "/shows/show.toml" in text
    assert "numpy:" in text and "python:" in text
    assert json.loads(text.split("last status:\n", 1)[1]) == {"screen": {"fps": 29.9}}


def test_reports_are_kept_to_the_newest(tmp_path):
    crashes = CrashReporter(tmp_path, "show", "show.toml", last_status=lambda: 1 / 0)
    for i in range(KEEP + 5):
        crashes.write(f"death {i}", None, None, None)
    kept = reports(tmp_path)
    assert len(kept) == KEEP and f"death {KEEP + 4}" in kept[-1].read_text()
    assert "the status could not be read: ZeroDivisionError" in kept[-1].read_text()


def test_a_dying_thread_is_reported_and_the_hooks_go_back(tmp_path):
    import threading
    before = threading.excepthook
    crashes = CrashReporter(tmp_path, "show", "show.toml")
    crashes.install()
    try:
        thread = threading.Thread(target=lambda: 1 / 0, name="painter")
        thread.start()
        thread.join()
    finally:
        crashes.uninstall()
    assert threading.excepthook is before
    [report] = reports(tmp_path)
    assert "thread painter died" in report.read_text() and "ZeroDivisionError" in report.read_text()


def test_a_run_killed_by_a_fatal_signal_is_reported_at_the_next_start(tmp_path):
    """A segfault in native code (TensorFlow, PortAudio) cannot be caught;
    faulthandler leaves the stacks, the next start files the report, and the
    run record counts the restart."""
    state = tmp_path / "state"
    run = [sys.executable, "-m", "engine", "run", "--headless", "--no-osc", "--quiet",
           "--output-dir", str(tmp_path / "out"), "--state-dir", str(state)]
    first = subprocess.Popen(run, cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    log = state / "logs" / "default.log"
    while time.monotonic() < deadline and "started in" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.1)
    first.send_signal(signal.SIGSEGV)
    first.communicate(timeout=20)
    assert first.returncode == -signal.SIGSEGV
    second = subprocess.run(run + ["--duration", "1"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    [report] = reports(state)
    text = report.read_text()
    assert "died of a fatal signal" in text and "Fatal Python error: Segmentation fault" in text
    assert "ended without stopping" in second.stderr and "restarts after a failure so far: 1" in second.stderr
    record = json.loads((state / "runs" / "default.json").read_text())
    assert record["starts"] == 2 and record["unclean_ends"] == 1 and record["last_end"]["clean"]
