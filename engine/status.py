"""The terminal view of a run: a live status line, events, and a closing table.

Every line goes through the `tensorstage` logger (engine/ops/logs.py), so the
same lines, with time and level, reach the log file of an installation.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

from engine.events import ERROR, OSC, Event
from engine.ops.logs import LOG, LineFormatter

_LEVELS = {ERROR: logging.ERROR, OSC: logging.WARNING}


class Console(logging.Handler):
    """Prints log lines and keeps one status line under them.

    On a terminal the status line is redrawn in place every second; every
    `log_every_s` it is also logged (into the file, and into a pipe or the
    journal when the terminal is not one).
    """

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, log_every_s: float = 10.0) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.quiet = quiet
        self.log_every_s = log_every_s
        self.setFormatter(LineFormatter())
        self._lock = threading.Lock()
        self._status = ""
        self._last_logged = float("-inf")
        LOG.addHandler(self)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False

    def close(self) -> None:
        LOG.removeHandler(self)
        super().close()

    def event(self, event: Event) -> None:
        self.say(str(event), _LEVELS.get(event.kind, logging.INFO))

    def say(self, text: str, level: int = logging.INFO) -> None:
        LOG.log(level, text)

    def emit(self, record: logging.LogRecord) -> None:
        if self.live and getattr(record, "status_line", False):
            return                      # the terminal shows it in place
        line = self.format(record)
        with self._lock:
            if self.live and self._status:
                self.stream.write("\r\033[K")
            self.stream.write(line + "\n")
            if self.live and self._status:
                self.stream.write(self._status)
            self.stream.flush()

    def status(self, elapsed_s: float, snapshot: dict[str, dict[str, Any]]) -> None:
        if self.quiet:
            return
        line = f"{elapsed_s:6.1f}s  " + " | ".join(_node_summary(n, f) for n, f in snapshot.items())
        if self.live:
            with self._lock:
                self._status = line[:200]
                self.stream.write("\r\033[K" + self._status)
                self.stream.flush()
        if elapsed_s - self._last_logged >= self.log_every_s:
            self._last_logged = elapsed_s
            LOG.info("status %s", line.strip(), extra={"status_line": True})

    def end_status(self) -> None:
        with self._lock:
            if self.live and self._status:
                self.stream.write("\n")
                self._status = ""


def _node_summary(name: str, figures: dict[str, Any]) -> str:
    parts = [f"{name} {figures['fps']:.1f}fps"]
    if figures["latency_p50_ms"] is not None:
        parts.append(f"lat {figures['latency_p50_ms']:.0f}/{figures['latency_p95_ms']:.0f}ms")
    if figures["dropped"]:
        parts.append(f"drop {figures['dropped']}")
    if figures["errors"]:
        parts.append(f"err {figures['errors']}")
    return " ".join(parts)


COLUMNS = (("node", "{}"), ("type", "{}"), ("in", "{}"), ("out", "{}"), ("dropped", "{}"),
           ("errors", "{}"), ("fps", "{:.1f}"), ("proc p50", "{:.2f}"), ("proc p95", "{:.2f}"),
           ("lat p50", "{:.1f}"), ("lat p95", "{:.1f}"))
_KEYS = (None, "type", "frames_in", "frames_out", "dropped", "errors", "fps", "process_p50_ms",
         "process_p95_ms", "latency_p50_ms", "latency_p95_ms")


def table(snapshot: dict[str, dict[str, Any]]) -> str:
    """A readable table of every node's figures (times in ms)."""
    rows = [[title for title, _ in COLUMNS]]
    for name, figures in snapshot.items():
        row = []
        for (_, fmt), key in zip(COLUMNS, _KEYS):
            value = name if key is None else figures[key]
            row.append("-" if value is None else fmt.format(value))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))) for row in rows)
