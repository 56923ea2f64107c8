"""The OSC server in a process of its own, so a flood of messages costs the
engine's process (its video and audio threads, and their GIL) almost nothing.

The child (spawned; imports python-osc and the engine's light OSC modules,
never TensorFlow) runs the same `OscServer`, with the same parsing, patterns,
checks, counts and messages, against a stand-in parameter store that knows the
parameters' specs but only records writes. Every 5 ms it sends what changed to
the engine's process: the newest value of each float parameter (a flood of
fader moves becomes at most 200 small updates a second; a float's target is
all the engine keeps anyway), every other write in order, scene and swap
commands, the counters and the reports. The engine's process applies them
with one thread that waits on the pipe (no GIL while it waits).

Same interface as `OscServer`: `start`, `stop`, `counts`, `by_address`,
`ignored`, `host`, `port`. It is the default; `[osc] process = false` keeps
the server in a thread (measured: a 10,000 message/s flood raised the video
p95 by 5-11 % (median 6.9 %) with the process, 21-26 % with the thread; docs/BENCHMARKS.md).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections import Counter, defaultdict
from typing import Any, Callable

from engine.events import EventLog
from engine.osc.server import IGNORED
from engine.params import FLOAT, ParamError, ParamSpec, ParamStore, WriteResult

FORWARD_S = 0.005


class _RecordingStore:
    """Checks writes as the real store would (coercion, clamping, unknown
    scenes) and records them for the engine's process."""

    def __init__(self, specs: dict[str, ParamSpec], scenes: list[str]) -> None:
        self.specs, self.scene_names = specs, set(scenes)
        self.floats: dict[str, Any] = {}
        self.ordered: list[tuple[str, Any]] = []
        self.commands: list[tuple] = []

    def exposed(self) -> dict[str, ParamSpec]:
        return {k: s for k, s in self.specs.items() if s.exposed}

    def set(self, key: str, value: Any, fade_s: float | None = None) -> WriteResult:
        spec = self.specs.get(key)
        if spec is None:
            raise ParamError(f"no parameter {key!r}")
        coerced, clamped = spec.coerce(value)
        if spec.type == FLOAT and fade_s is None:
            self.floats[key] = coerced
        else:
            self._flush_floats()
            self.ordered.append((key, coerced))
        return WriteResult(key, coerced, clamped)

    def recall(self, scene: str, fade_s: float | None = None) -> None:
        if scene not in self.scene_names:
            raise ParamError(f"no scene {scene!r}; scenes are: {', '.join(sorted(self.scene_names)) or 'none'}")
        self._flush_floats()
        self.commands.append(("recall", scene, fade_s))

    def store_scene(self, scene: str) -> dict:
        self.scene_names.add(scene)
        self.commands.append(("store", scene))
        return {}

    def _flush_floats(self) -> None:
        # Keep order across kinds: floats written before a command land before it.
        self.ordered.extend(self.floats.items())
        self.floats.clear()

    def take(self) -> tuple[list, list]:
        self._flush_floats()
        ordered, commands = self.ordered, self.commands
        self.ordered, self.commands = [], []
        return ordered, commands


class _RecordingEvents:
    def __init__(self) -> None:
        self.pending: list[tuple[str, str, str]] = []

    def add(self, kind: str, source: str, message: str) -> None:
        self.pending.append((kind, source, message))


def _child(conn, host: str, port: int, allow: tuple[str, ...], specs: dict, scenes: list[str],
           parent: int) -> None:
    import os

    from engine.osc.server import OscServer

    store, events = _RecordingStore(specs, scenes), _RecordingEvents()
    lock = threading.Lock()
    swaps: list[tuple[str, str]] = []

    def on_swap(node: str, path: str) -> None:
        swaps.append((node, path))

    try:
        server = OscServer(store, events, host, port, allow, on_scene=None, on_swap=on_swap)
    except OSError as error:
        conn.send(("error", error.errno, error.strerror))
        return
    conn.send(("bound", server.host, server.port))
    # The server thread applies into `store`; this loop forwards. The server
    # runs its handlers under this lock so a batch is never taken half-written.
    original_apply = server.apply

    def apply(address, args):
        with lock:
            original_apply(address, args)

    server.apply = apply
    server.start()
    sent_counts = None
    try:
        while os.getppid() == parent:      # a killed engine must not leave its port taken
            if conn.poll(FORWARD_S):
                message = conn.recv()
                if message[0] == "stop":
                    break
                if message[0] == "specs":
                    with lock:
                        store.specs, store.scene_names = message[1], set(message[2])
            with lock:
                ordered, commands = store.take()
                reports, events.pending = events.pending, []
                swapped, swaps[:] = list(swaps), []
                counts = (dict(server.counts), {a: dict(c) for a, c in server.by_address.items()})
            if ordered or commands or reports or swapped or counts != sent_counts:
                conn.send(("batch", ordered, commands, swapped, reports, counts))
                sent_counts = counts
    finally:
        server.stop()


class OscProcessServer:
    def __init__(self, store: ParamStore, events: EventLog, host: str = "127.0.0.1", port: int = 9000,
                 allow: tuple[str, ...] = (), on_scene: Callable[[str], None] | None = None,
                 on_swap: Callable[[str, str], None] | None = None) -> None:
        self.store, self.events = store, events
        self.on_scene, self.on_swap = on_scene, on_swap
        self.counts: Counter[str] = Counter()
        self.by_address: dict[str, Counter[str]] = defaultdict(Counter)
        self._refused: Counter[str] = Counter()     # what only this side can refuse (a swap's model)
        self._conn, child_conn = mp.Pipe()
        self._specs_sent = self._specs_now()
        self.process = mp.get_context("spawn").Process(
            target=_child, name="tensorstage-osc", daemon=True,
            args=(child_conn, host, port, tuple(allow), *self._specs_sent, os.getpid()))
        self.process.start()
        if not self._conn.poll(20):
            self.process.kill()
            raise OSError(0, "the OSC process did not start")
        reply = self._conn.recv()
        if reply[0] == "error":
            self.process.join(2)
            raise OSError(reply[1], reply[2])
        _, self.host, self.port = reply
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._apply_loop, name="osc-apply", daemon=True)

    def _specs_now(self) -> tuple[dict, list]:
        return dict(self.store.specs), sorted(self.store.scenes)

    @property
    def ignored(self) -> int:
        return sum(self.counts[k] for k in IGNORED)

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        try:
            self._conn.send(("stop",))
        except (OSError, BrokenPipeError):
            pass
        self._thread.join(2)
        self.process.join(3)
        if self.process.is_alive():
            self.process.kill()

    def _apply_loop(self) -> None:
        next_check = 0.0
        while self._running.is_set():
            if time.monotonic() >= next_check:      # twice a second, not once per batch under a flood
                next_check = time.monotonic() + 0.5
                specs = self._specs_now()
                if specs != self._specs_sent:
                    self._conn.send(("specs", *specs))      # a reload changed the parameters
                    self._specs_sent = specs
            if not self._conn.poll(0.1):
                continue
            try:
                _, ordered, commands, swapped, reports, (counts, by_address) = self._conn.recv()
            except (EOFError, OSError):
                return
            for key, value in ordered:
                try:
                    self.store.set(key, value)
                except ParamError:
                    pass                                   # removed by a reload meanwhile
            for command in commands:
                try:
                    if command[0] == "recall":
                        self.store.recall(command[1], command[2])
                        if self.on_scene:
                            self.on_scene(command[1])
                    else:
                        self.store.store_scene(command[1])
                except ParamError:
                    pass
            for node, path in swapped:
                try:
                    if self.on_swap:
                        self.on_swap(node, path)
                except ValueError as error:
                    self.events.add("osc", "/tensorstage/swap", f"{error}; ignored")
                    self._refused["bad_args"] += 1
            for kind, source, message in reports:
                self.events.add(kind, source, message)
            self.counts = Counter(counts) + self._refused
            by_address = defaultdict(Counter, {a: Counter(c) for a, c in by_address.items()})
            if self._refused:
                by_address["/tensorstage/swap"]["bad_args"] += self._refused["bad_args"]
                by_address["/tensorstage/swap"]["applied"] -= self._refused["bad_args"]
                self.counts["applied"] -= self._refused["bad_args"]
            self.by_address = by_address
