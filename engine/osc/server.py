"""The OSC server: writes parameters and runs commands, never falls over.

One thread reads UDP datagrams (a plain socket: python-osc's threading server
starts a thread per datagram and collapses on two cores). Each datagram is
parsed with python-osc's parser inside a guard: garbage is counted, never
raised. A bundle whose timetag lies ahead is held until its time. Messages may
use OSC address patterns. What is wrong is ignored, counted per address and
reported at most once per address every few seconds:

- unknown address: ignored
- wrong argument count or type (a string for a float): ignored
- out of range: clamped, applied, and counted as clamped
- a sender not on the allow-list: ignored

Nothing is ever sent back: a handler has no way to reply.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from typing import Any, Callable

from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from engine.events import OSC, EventLog
from engine.osc.patterns import compile_pattern, is_pattern
from engine.params import ParamError, ParamStore

MAX_SCHEDULED = 10_000
IGNORED = ("unknown", "bad_args", "malformed", "refused", "overflow")   # outcomes that count as ignored
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
                 on_swap: Callable[[str, str], None] | None = None) -> None:
        self.store, self.events = store, events
        self.allow = set(allow)
        self.on_scene = on_scene
        self.on_swap = on_swap      # (node, model path); raises ValueError for a bad request
        self.counts: Counter[str] = Counter()                       # totals by outcome
        self.by_address: dict[str, Counter[str]] = defaultdict(Counter)
        self._scheduled: list[tuple[float, int, Any]] = []
        self._sequence = itertools.count()
        self._running = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self._thread = threading.Thread(target=self._serve, name="osc-in", daemon=True)

    @property
    def ignored(self) -> int:
        return sum(self.counts[k] for k in IGNORED)

    def start(self) -> None:
        self._running.set()
        self._thread.start()

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
            for data, (sender, _) in batch:
                self.handle_datagram(data, sender)
            self._run_due()
            if len(batch) >= BATCH_BUSY:
                time.sleep(0.001)

    def handle_datagram(self, data: bytes, sender: str = "127.0.0.1") -> None:
        self.counts["datagrams"] += 1
        if self.allow and sender not in self.allow:
            self._ignore("refused", f"from {sender}", "sender is not on the allow-list; ignored")
            return
        try:
            if data[:1] == b"/":  # a plain message, the common case: no bundle, no timetag
                message = OscMessage(data)
                self.apply(message.address, message.params)
                return
            messages = OscPacket(data).messages
        except Exception as error:  # noqa: BLE001 - python-osc raises several kinds on garbage
            self._ignore("malformed", "", f"malformed datagram of {len(data)} bytes ignored "
                                          f"({type(error).__name__})")
            return
        if not messages:
            self.counts["empty"] += 1  # an empty bundle: valid, and nothing to do
            return
        now = time.time()
        for timed in messages:
            if timed.time > now + 0.0005:
                if len(self._scheduled) >= MAX_SCHEDULED:
                    self._ignore("overflow", timed.message.address, "too many bundles waiting; ignored")
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

    # Applying ------------------------------------------------------------------
    def apply(self, address: str, args: list[Any]) -> None:
        self.counts["messages"] += 1
        if address.startswith("/scene/"):
            self._scene_command(address, args)
            return
        if address == "/tensorstage/swap":
            self._swap_command(address, args)
            return
        targets = self._targets(address)
        if not targets:
            self._ignore("unknown", address, "unknown address; ignored (tensorstage osc list shows them)")
            return
        for key in targets:
            self._set(f"/{key}", key, args)

    def _targets(self, address: str) -> list[str]:
        if not is_pattern(address):
            spec = self.store.specs.get(address[1:])
            return [address[1:]] if spec is not None and spec.exposed else []
        exposed = self.store.exposed()
        try:
            regex = compile_pattern(address[1:])
        except ValueError:
            return []
        return [key for key in exposed if regex.match(key)]

    def _set(self, address: str, key: str, args: list[Any]) -> None:
        if len(args) != 1:
            self._ignore("bad_args", address, f"expected 1 argument, got {len(args)}; ignored")
            return
        try:
            result = self.store.set(key, args[0])
        except ParamError as error:
            self._ignore("bad_args", address, f"{error}; ignored")
            return
        self.by_address[address]["applied"] += 1
        self.counts["applied"] += 1
        if result.clamped:
            self.by_address[address]["clamped"] += 1
            self.counts["clamped"] += 1
            self.events.add(OSC, address, f"{args[0]!r} is out of range; clamped to {result.value!r}")

    def _scene_command(self, address: str, args: list[Any]) -> None:
        if address not in ("/scene/recall", "/scene/store") or not args or not isinstance(args[0], str) \
                or len(args) > (2 if address == "/scene/recall" else 1) \
                or (len(args) == 2 and not isinstance(args[1], (int, float))):
            self._ignore("bad_args", address, "expected /scene/recall NAME [FADE_S] or /scene/store NAME; ignored")
            return
        try:
            if address == "/scene/recall":
                self.store.recall(args[0], float(args[1]) if len(args) == 2 else None)
                if self.on_scene:
                    self.on_scene(args[0])
            else:
                self.store.store_scene(args[0])
        except ParamError as error:
            self._ignore("bad_args", address, f"{error}; ignored")
            return
        self.by_address[address]["applied"] += 1
        self.counts["applied"] += 1

    def _swap_command(self, address: str, args: list[Any]) -> None:
        """/tensorstage/swap NODE PATH: load another model into a model node."""
        if self.on_swap is None or len(args) != 2 or not all(isinstance(a, str) for a in args):
            self._ignore("bad_args", address, "expected /tensorstage/swap NODE MODEL_PATH; ignored")
            return
        try:
            self.on_swap(args[0], args[1])
        except ValueError as error:      # PatchError: an unknown node, a node without a model path
            self._ignore("bad_args", address, f"{error}; ignored")
            return
        self.by_address[address]["applied"] += 1
        self.counts["applied"] += 1

    def _ignore(self, outcome: str, address: str, message: str) -> None:
        self.counts[outcome] += 1
        self.by_address[address][outcome] += 1
        self.events.add(OSC, address or "osc", message)
