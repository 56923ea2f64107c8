"""systemd's notify protocol, through sdnotify: READY=1 once the show runs,
WATCHDOG=1 while it is healthy, STATUS= for `systemctl status`, STOPPING=1.

The pings come from the main loop, and only while every node's thread
finishes its work in time and the OSC server's thread lives: a hung main
loop, a node stuck in a driver or a dead OSC thread stops them, and systemd
(or `tensorstage run --supervise`, which speaks the same protocol) kills and
restarts the run. The audio process is covered through its node: the
speakers' worker restarts it, and a worker stuck doing so is a stuck node.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Callable

from sdnotify import SystemdNotifier

from engine.ops.logs import LOG

STUCK_S = 30.0          # a node busy this long on one packet is hung


class Watchdog:
    def __init__(self, problems: Callable[[], list[str]]) -> None:
        self.problems = problems
        socket_path = os.environ.get("NOTIFY_SOCKET")
        watchdog_pid = os.environ.get("WATCHDOG_PID")
        usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
        self.enabled = bool(socket_path)
        # Ping at half the timeout, as sd_watchdog_enabled(3) advises.
        self.interval_s = usec / 2e6 if usec and (not watchdog_pid or int(watchdog_pid) == os.getpid()) else 0.0
        self.notifier = SystemdNotifier() if self.enabled else None
        self.pings = 0
        self._next = 0.0
        self._unhealthy_said = ""

    def _send(self, text: str) -> None:
        if self.notifier is not None:
            self.notifier.notify(text)

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={status}")
        if self.enabled:
            LOG.info("told the service manager we are ready" + (
                f"; watchdog pings every {self.interval_s:g} s" if self.interval_s else ""))

    def tick(self, status: Callable[[], str]) -> None:
        """From the main loop, every pass: ping when due and healthy."""
        if not self.interval_s:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval_s
        problems = self.problems()
        if problems:
            said = "; ".join(problems)
            if said != self._unhealthy_said:
                LOG.log(logging.ERROR, "not telling the watchdog we are alive: %s", said)
                self._unhealthy_said = said
            return
        self._unhealthy_said = ""
        self._send(f"WATCHDOG=1\nSTATUS={status()}")
        self.pings += 1

    def stopping(self, why: str) -> None:
        self._send(f"STOPPING=1\nSTATUS=stopping: {why}")
