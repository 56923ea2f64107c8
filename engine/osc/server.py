"""The OSC server: reads UDP datagrams, hands each message to the dispatcher
(engine/osc/dispatch.py: what a message does, and every check), never falls over.

One thread reads datagrams (a plain socket: python-osc's threading server
starts a thread per datagram and collapses on two cores). Each datagram is
parsed with python-osc's parser inside a guard: garbage is counted, never
raised. A bundle whose timetag lies ahead is held until its time, at most
MAX_SCHEDULED of them and at most MAX_AHEAD_S ahead. Nothing is ever sent
back: a handler has no way to reply.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections import Counter
from typing import Any, Callable

from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from engine.events import EventLog
from engine.osc.dispatch import OscDispatcher
from engine.params import ParamStore

MAX_SCHEDULED = 10_000
MAX_AHEAD_S = 3600.0   # a bundle for later than this is refused (a far-future timetag)
BATCH_MAX = 1024   # datagrams read in one go
BATCH_BUSY = 8     # a batch this large means a flood: pause between batches


class _QuietPythonOsc(logging.Filter):
    """python-osc logs a warning on the root logger for every bad bundle part;
    the server counts and reports those itself, so a flood of garbage must not
    also flood the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pythonosc" not in record.pathname


logging.getLogger().addFilter(_QuietPythonOsc())


def lower_priority_of_this_thread(niceness: int = 10) -> None:
    """Control traffic yields the CPU to frames and sound when both want it
    (Linux schedules threads, so a thread can have its own niceness)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):
        pass


class OscServer:
    def __init__(self, store: ParamStore, events: EventLog, host: str = "127.0.0.1", port: int = 9000,
                 allow: tuple[str, ...] = (), on_scene: Callable[[str], None] | None = None,
                 on_swap: Callable[[str, str], None] | None = None, lock: threading.Lock | None = None,
                 commands: Callable[[], dict] | None = None,
                 on_command: Callable[[str, str, tuple], None] | None = None) -> None:
        self.store, self.events = store, events
        self.allow = set(allow)
        # `lock`: held while a message is applied (the OSC process forwards
        # between messages, never halfway through one).
        self.dispatch = OscDispatcher(store, events, on_scene, on_swap, lock, commands, on_command)
        self._scheduled: list[tuple[float, int, Any]] = []
        self._sequence = itertools.count()
        self._running = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self._thread = threading.Thread(target=self._serve, name="osc-in", daemon=True)

    @property
    def counts(self) -> Counter:
        return self.dispatch.counts

    @property
    def by_address(self) -> dict[str, Counter]:
        return self.dispatch.by_address

    @property
    def ignored(self) -> int:
        return self.dispatch.ignored

    def apply(self, address: str, args: list[Any]) -> None:
        self.dispatch.apply(address, args)

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def alive(self) -> bool:
        """Its thread still serves (the watchdog asks)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._running.clear()
        if self._thread.is_alive():
            self._thread.join(2)
        self.sock.close()

    # The loop ----------------------------------------------------------------
    def _serve(self) -> None:
        """Wait for a datagram, then drain what else has arrived. Under a flood the
        loop pauses 1 ms between batches, so it takes the GIL a few hundred times
        a second instead of once per datagram (the video threads need it too);
        light traffic is applied the moment it arrives."""
        lower_priority_of_this_thread()
        while self._running.is_set():
            timeout = 0.1
            if self._scheduled:
                timeout = min(timeout, max(0.0, self._scheduled[0][0] - time.time()))
            self.sock.settimeout(timeout)
            try:
                batch = [self.sock.recvfrom(65536)]
            except (socket.timeout, BlockingIOError):
                batch = []
            except OSError:
                if not self._running.is_set():
                    return
                continue
            if batch:
                self.sock.setblocking(False)
                try:
                    while len(batch) < BATCH_MAX:
                        batch.append(self.sock.recvfrom(65536))
                except (BlockingIOError, OSError):
                    pass
            try:
                for data, (sender, _) in batch:
                    self.handle_datagram(data, sender)
                self._run_due()
            except Exception as error:  # noqa: BLE001 - the server thread must outlive any datagram
                self.dispatch.ignore("failed", "osc", f"server error, going on: {type(error).__name__}: {error}")
            if len(batch) >= BATCH_BUSY:
                time.sleep(0.001)

    def handle_datagram(self, data: bytes, sender: str = "127.0.0.1") -> None:
        self.counts["datagrams"] += 1
        if self.allow and sender not in self.allow:
            self.dispatch.ignore("refused", f"from {sender}", "sender is not on the allow-list; ignored")
            return
        try:
            if data[:1] == b"/":  # a plain message, the common case: no bundle, no timetag
                message = OscMessage(data)
                self.apply(message.address, message.params)
                return
            messages = OscPacket(data).messages
        except Exception as error:  # noqa: BLE001 - python-osc raises several kinds on garbage
            self.dispatch.ignore("malformed", "", f"malformed datagram of {len(data)} bytes ignored "
                                                  f"({type(error).__name__})")
            return
        if not messages:
            self.counts["empty"] += 1  # an empty bundle: valid, and nothing to do
            return
        now = time.time()
        for timed in messages:
            if timed.time > now + 0.0005:
                if len(self._scheduled) >= MAX_SCHEDULED or timed.time > now + MAX_AHEAD_S:
                    self.dispatch.ignore("overflow", timed.message.address[:64], "too many bundles waiting, or "
                                         f"one for more than {MAX_AHEAD_S:g} s ahead; ignored")
                    continue
                heapq.heappush(self._scheduled, (timed.time, next(self._sequence), timed.message))
            else:
                self.apply(timed.message.address, list(timed.message.params))

    def _run_due(self) -> None:
        now = time.time()
        while self._scheduled and self._scheduled[0][0] <= now:
            _, _, message = heapq.heappop(self._scheduled)
            self.counts["scheduled"] += 1
            self.apply(message.address, list(message.params))
