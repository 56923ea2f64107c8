"""What happened during a run that a performer or technician should know:
fallbacks, device losses and reconnects, node errors, reloads, OSC trouble.

Every event is counted by kind; those not suppressed (below) are kept, the
newest few hundred, for the status stream, and handed to `printer`. A node that
keeps failing (or an OSC address that keeps getting bad input) is reported once,
then at most every `repeat_s` seconds with the count since, so nothing can
flood the console.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

INFO, ERROR, RELOAD, OSC = "info", "error", "reload", "osc"
_RATE_LIMITED = (ERROR, OSC)


@dataclass(frozen=True)
class Event:
    time: float
    kind: str
    node: str
    message: str

    def __str__(self) -> str:
        where = f"[{self.node}] " if self.node else ""
        return f"{where}{self.message}"


class EventLog:
    def __init__(self, printer: Callable[[Event], None] | None = None, repeat_s: float = 5.0,
                 keep: int = 500) -> None:
        self.printer = printer
        self.repeat_s = repeat_s
        self.counts: Counter[str] = Counter()
        self.recent: deque[Event] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._last_printed: dict[tuple[str, str], float] = {}
        self._suppressed: Counter[tuple[str, str]] = Counter()

    def add(self, kind: str, node: str, message: str) -> None:
        event = Event(time.time(), kind, node, message)
        with self._lock:
            self.counts[kind] += 1
            key = (kind, node)
            last = self._last_printed.get(key)
            if kind in _RATE_LIMITED and last is not None and event.time - last < self.repeat_s:
                self._suppressed[key] += 1
                return
            suppressed = self._suppressed.pop(key, 0)
            self._last_printed[key] = event.time
            if suppressed:
                event = Event(event.time, kind, node, f"{message} (and {suppressed} more since)")
            self.recent.append(event)
        if self.printer is not None:
            self.printer(event)

    def messages(self, kind: str | None = None) -> list[str]:
        with self._lock:
            return [str(e) for e in self.recent if kind is None or e.kind == kind]
