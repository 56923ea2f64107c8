"""Log lines with wall-clock time and level, to the terminal and to a file
that rotates by size and count.

The file is written by the standard library's QueueListener thread, so a
node thread that reports an event never waits on a slow disk (an SD card in
a mini PC). Under systemd the terminal lines go to the journal as well.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
from pathlib import Path

from engine.ops.state import safe_name, wall_clock

LOG = logging.getLogger("tensorstage")
DEFAULT_MAX_MB = 10.0
DEFAULT_FILES = 5


class LineFormatter(logging.Formatter):
    """`2026-11-29T05:40:36.123+01:00 ERROR   text` (local time with its offset,
    so lines from before and after a daylight-saving change sort and read right)."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{wall_clock(record.created)} {record.levelname:<7} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class FileLog:
    """The run's log file: `<state>/logs/<patch>.log`, rotated at `max_mb`,
    `files` old files kept (the total is bounded: (files + 1) x max_mb)."""

    def __init__(self, folder: Path, patch_name: str, max_mb: float = DEFAULT_MAX_MB,
                 files: int = DEFAULT_FILES) -> None:
        self.path = folder / "logs" / f"{safe_name(patch_name)}.log"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.handlers.RotatingFileHandler(
            self.path, maxBytes=int(max_mb * 1024 * 1024), backupCount=files, encoding="utf-8")
        self.handler.setFormatter(LineFormatter())
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._enqueue = logging.handlers.QueueHandler(self._queue)
        self._listener = logging.handlers.QueueListener(self._queue, self.handler)
        self._listener.start()
        LOG.addHandler(self._enqueue)
        LOG.setLevel(logging.INFO)

    def limit(self, max_mb: float, files: int) -> None:
        """The patch's [show] limits, once it is loaded."""
        self.handler.maxBytes = int(max_mb * 1024 * 1024)
        self.handler.backupCount = files

    def close(self) -> None:
        LOG.removeHandler(self._enqueue)
        self._listener.stop()       # writes what is queued first
        self.handler.close()


def last_lines(path: Path, level: str = "ERROR", count: int = 5) -> list[str]:
    """The newest `count` lines of that level in a log file and its rotated
    predecessors (what `tensorstage status` shows as the last errors)."""
    found: list[str] = []
    for candidate in [path] + [path.with_name(f"{path.name}.{i}") for i in range(1, 100)]:
        if not candidate.exists():
            break
        lines = [line for line in candidate.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line.split(" ", 2)[1:2] == [level]]
        found = lines + found
        if len(found) >= count:
            break
    return found[-count:]
