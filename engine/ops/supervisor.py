"""`tensorstage run --supervise`: for a machine without systemd, the same
care in the engine's own parent process. It starts the run as a child that
speaks systemd's notify protocol to it (engine/ops/watchdog.py), and restarts
it when it fails or stops pinging, as the unit `tensorstage install` writes
does: Restart=on-failure with a growing pause, and a watchdog that sends
SIGABRT (faulthandler then writes the hung stacks, filed as a crash report
at the next start) and SIGKILL if that does not end it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from engine.ops.logs import LOG

START_TIMEOUT_S = 180.0      # models load slowly on a small machine
WATCHDOG_S = 30.0
KILL_AFTER_S = 5.0
BACKOFF_S = (1, 2, 5, 10, 30, 60)
HEALTHY_RESETS_BACKOFF_S = 300.0     # a run this long counts as healthy: the next failure starts at 1 s


class Supervisor:
    def __init__(self, command: list[str], watchdog_s: float = WATCHDOG_S,
                 start_timeout_s: float = START_TIMEOUT_S, backoff_s: tuple[float, ...] = BACKOFF_S) -> None:
        self.command = command
        self.watchdog_s, self.start_timeout_s, self.backoff_s = watchdog_s, start_timeout_s, backoff_s
        self.restarts = 0
        self.stopping = threading.Event()
        self.child: subprocess.Popen | None = None
        self.ends: list[str] = []       # why each run ended, in order

    def run(self) -> int:
        failures = 0
        with tempfile.TemporaryDirectory(prefix="tensorstage-supervisor-") as folder:
            address = str(Path(folder) / "notify")
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.bind(address)
                while True:
                    started = time.monotonic()
                    code, why = self._one_run(sock, address)
                    self.ends.append(why)
                    if self.stopping.is_set() or code == 0:
                        LOG.info("supervisor: the run ended (%s); not restarting", why)
                        return 0 if self.stopping.is_set() else code
                    if time.monotonic() - started >= HEALTHY_RESETS_BACKOFF_S:
                        failures = 0
                    pause = self.backoff_s[min(failures, len(self.backoff_s) - 1)]
                    failures += 1
                    self.restarts += 1
                    LOG.error("supervisor: the run %s; restart %d in %g s", why, self.restarts, pause)
                    if self.stopping.wait(pause):
                        return 0

    def _one_run(self, sock: socket.socket, address: str) -> tuple[int, str]:
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": str(int(self.watchdog_s * 1e6))}
        env.pop("WATCHDOG_PID", None)
        self.child = subprocess.Popen(self.command, env=env)
        ready = False
        deadline = time.monotonic() + self.start_timeout_s
        sock.settimeout(0.2)
        while True:
            code = self.child.poll()
            if code is not None:
                return code, f"exited with code {code}" if code >= 0 else f"died of signal {-code}"
            if self.stopping.is_set():
                return self._stop(signal.SIGTERM), "stopped by the supervisor's signal"
            if time.monotonic() > deadline:
                what = "stopped pinging the watchdog" if ready else f"was not ready in {self.start_timeout_s:g} s"
                code = self._stop(signal.SIGABRT)
                how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
                return -1, f"{what}; ended by {how}"
            try:
                message = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            fields = dict(line.split("=", 1) for line in message.splitlines() if "=" in line)
            if fields.get("READY") == "1" or fields.get("WATCHDOG") == "1":
                ready = True
                deadline = time.monotonic() + self.watchdog_s

    def _stop(self, how: signal.Signals) -> int:
        assert self.child is not None
        self.child.send_signal(how)
        try:
            return self.child.wait(KILL_AFTER_S + (5 if how == signal.SIGTERM else 0))
        except subprocess.TimeoutExpired:
            self.child.kill()
            return self.child.wait()

    def stop(self) -> None:
        self.stopping.set()


def supervise(command: list[str]) -> int:
    """Run `command` under the supervisor until a signal stops both."""
    supervisor = Supervisor(command)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: supervisor.stop())
    LOG.info("supervisor: running %s; restarting it when it fails or hangs", " ".join(command))
    return supervisor.run()
