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

from engine.ops.state import wall_clock

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


MAX_KEYS = 1024          # sources remembered for the rate limit (unique OSC addresses must not grow it)
LINES_PER_S = 20         # rate-limited lines printed a second, all sources together


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
        self._second = 0          # the current second, and the rate-limited lines said in it
        self._said_this_second = 0
        self.dropped = 0          # rate-limited lines over the global limit (counted, not kept)

    def add(self, kind: str, node: str, message: str) -> None:
        event = Event(time.time(), kind, node, message)
        with self._lock:
            self.counts[kind] += 1
            key = (kind, node)
            last = self._last_printed.get(key)
            if kind in _RATE_LIMITED:
                if last is not None and event.time - last < self.repeat_s:
                    self._suppressed[key] += 1
                    return
                if int(event.time) != self._second:
                    self._second, self._said_this_second = int(event.time), 0
                if self._said_this_second >= LINES_PER_S:
                    self.dropped += 1
                    return
                self._said_this_second += 1
            suppressed = self._suppressed.pop(key, 0)
            if len(self._last_printed) >= MAX_KEYS and key not in self._last_printed:
                self._forget_quiet_sources(event.time)
            self._last_printed[key] = event.time
            if suppressed:
                event = Event(event.time, kind, node, f"{message} (and {suppressed} more since)")
            self.recent.append(event)
        if self.printer is not None:
            self.printer(event)

    def _forget_quiet_sources(self, now: float) -> None:
        """Sources silent for longer than the repeat time carry no rate limit:
        forget them (and, past the bound still, the oldest half)."""
        quiet = [k for k, t in self._last_printed.items() if now - t >= self.repeat_s]
        if len(self._last_printed) - len(quiet) >= MAX_KEYS // 2:
            quiet = sorted(self._last_printed, key=self._last_printed.get)[: MAX_KEYS // 2]
        for key in quiet:
            self._last_printed.pop(key, None)
            self._suppressed.pop(key, None)

    def last_error(self) -> str | None:
        """The newest error kept, with its time (for /health)."""
        with self._lock:
            for event in reversed(self.recent):
                if event.kind == ERROR:
                    return f"{wall_clock(event.time)} {event}"
        return None

    def messages(self, kind: str | None = None) -> list[str]:
        with self._lock:
            return [str(e) for e in self.recent if kind is None or e.kind == kind]
