"""The engine's own supervisor, which speaks systemd's notify protocol as
systemd does: the watchdog restart tested with a deliberately hung main loop."""

import sys
import textwrap
from pathlib import Path

from engine.ops.crash import reports
from engine.ops.supervisor import Supervisor

REPO = Path(__file__).resolve().parents[2]

# The engine's main loop hangs once, after a few seconds of the show (as a GUI
# toolkit deadlocked in the window would); the run that follows plays 2 s.
HANGING_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import engine.graph
    marker = Path(sys.argv[1])
    step, started = engine.graph.Engine.step, time.monotonic()
    def hanging_step(self, timeout=0.01):
        if not marker.exists() and time.monotonic() - started > 3:
            marker.write_text("hung")
            while True:
                time.sleep(1)
        step(self, timeout)
    engine.graph.Engine.step = hanging_step
    from engine.cli import main
    duration = ["--duration", "2"] if marker.exists() else []
    raise SystemExit(main(sys.argv[2:] + duration))
""")


def test_a_hung_main_loop_is_killed_by_the_watchdog_and_the_show_restarts(tmp_path):
    state = tmp_path / "state"
    command = [sys.executable, "-c", HANGING_RUN, str(tmp_path / "hung"), "run", "--headless", "--quiet",
               "--no-osc", "--output-dir", str(tmp_path / "out"), "--state-dir", str(state)]
    supervisor = Supervisor(command, watchdog_s=3.0, start_timeout_s=60.0, backoff_s=(0.5,))
    assert supervisor.run() == 0                      # the second run ended by its --duration
    assert supervisor.ends == ["stopped pinging the watchdog; ended by signal SIGABRT", "exited with code 0"]
    assert supervisor.restarts == 1
    # SIGABRT made faulthandler write the hung stacks; the second start filed them.
    [report] = reports(state)
    text = report.read_text()
    assert "fatal signal" in text and "Aborted" in text and "hanging_step" in text


def test_a_run_that_exits_with_an_error_is_restarted_with_a_pause_and_a_clean_exit_is_not(tmp_path):
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        count = Path(sys.argv[1])
        runs = int(count.read_text()) + 1 if count.exists() else 1
        count.write_text(str(runs))
        import sdnotify
        sdnotify.SystemdNotifier().notify("READY=1")
        raise SystemExit(3 if runs < 3 else 0)
    """)
    supervisor = Supervisor([sys.executable, "-c", script, str(tmp_path / "count")], watchdog_s=5.0,
                            backoff_s=(0.1, 0.2))
    assert supervisor.run() == 0
    assert supervisor.ends == ["exited with code 3", "exited with code 3", "exited with code 0"]
    assert supervisor.restarts == 2


def test_a_run_that_never_gets_ready_is_ended(tmp_path):
    supervisor = Supervisor([sys.executable, "-c", "import time; time.sleep(60)"], start_timeout_s=1.0,
                            backoff_s=(0.1,))
    import threading
    threading.Timer(3.5, supervisor.stop).start()     # after two tries
    assert supervisor.run() == 0
    # ended as systemd's watchdog ends a service: SIGABRT (which faulthandler reports)
    assert supervisor.ends[:2] == ["was not ready in 1 s; ended by signal SIGABRT"] * 2
