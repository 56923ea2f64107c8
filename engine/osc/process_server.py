"""The OSC server in a process of its own, so a flood of messages costs the
engine's process (its video and audio threads, and their GIL) almost nothing.

The child (spawned; imports python-osc and the engine's light OSC modules,
never TensorFlow) runs the same `OscServer` and dispatcher, with the same
parsing, patterns, checks, counts and messages, against a stand-in parameter
store that knows the parameters' specs but only records writes. Every 5 ms it
sends what changed to the engine's process as a `Batch` (engine/osc/messages.py):
the newest value of each float parameter (a flood of fader moves becomes at
most 200 small updates a second; a float's target is all the engine keeps
anyway), every other write and command in order, its reports, and (at most
10 times a second, when they changed) its counters. The engine's process
applies them with one thread that waits on the pipe (no GIL while it waits).

Supervised: should the child die (killed, crashed), the apply thread starts it
again on the same port, says so once, and counts it (`restarts`,
`/tensorstage/osc/restarts`); an error in applying a batch is reported with
its traceback and the thread goes on.

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
import traceback
from collections import Counter
from typing import Any, Callable

from engine.events import ERROR, INFO, OSC, EventLog
from engine.osc.dispatch import IGNORED, AddressCounts
from engine.osc.messages import (Action, Batch, BindFailed, Bound, Command, Counts, NewSpecs, Recall, Report,
                                 Stop, StoreScene, Swap, Write)
from engine.params import FLOAT, MAX_SCENES, ParamError, ParamSpec, ParamStore, WriteResult

FORWARD_S = 0.005
COUNTS_EVERY_S = 0.1
RESTART_BACKOFF_S = (0.2, 1.0, 5.0)


class _RecordingStore:
    """Checks writes as the real store would (coercion, clamping, fade times,
    unknown scenes, the scene cap) and records them as actions, in order."""

    def __init__(self, specs: dict[str, ParamSpec], scenes: list[str]) -> None:
        self.specs, self.scene_names = specs, set(scenes)
        self.floats: dict[str, Any] = {}
        self.actions: list[Action] = []

    def exposed(self) -> dict[str, ParamSpec]:
        return {k: s for k, s in self.specs.items() if s.exposed}

    def set(self, key: str, value: Any, fade_s: float | None = None) -> WriteResult:
        spec = self.specs.get(key)
        if spec is None:
            raise ParamError(f"no parameter {key!r}")
        coerced, clamped = spec.coerce(value)
        if spec.type == FLOAT and fade_s is None:
            self.floats[key] = coerced          # only the newest counts
        else:
            self.add(Write(key, coerced))
        return WriteResult(key, coerced, clamped)

    def recall(self, scene: str, fade_s: float | None = None) -> None:
        if scene not in self.scene_names:
            raise ParamError(f"no scene {scene!r}; scenes are: {', '.join(sorted(self.scene_names)) or 'none'}")
        self.add(Recall(scene, fade_s))

    def store_scene(self, scene: str) -> dict:
        probe = ParamStore(scenes={name: {} for name in self.scene_names})
        probe.store_scene(scene)                # the same name and count checks as the engine's store
        self.scene_names.add(scene)
        self.add(StoreScene(scene))
        return {}

    def add(self, action: Action) -> None:
        self._flush_floats()                    # floats written before a command land before it
        self.actions.append(action)

    def _flush_floats(self) -> None:
        self.actions.extend(Write(k, v) for k, v in self.floats.items())
        self.floats.clear()

    def take(self) -> list[Action]:
        self._flush_floats()
        actions, self.actions = self.actions, []
        return actions


class _RecordingEvents:
    def __init__(self) -> None:
        self.pending: list[Report] = []

    def add(self, kind: str, source: str, message: str) -> None:
        if len(self.pending) < 1000:            # the engine's event log rate-limits them again
            self.pending.append(Report(kind, source, message))


def _child(conn, host: str, port: int, allow: tuple[str, ...], specs: dict, scenes: list[str], commands: dict,
           parent: int) -> None:
    from engine.osc.server import OscServer

    store, events = _RecordingStore(specs, scenes), _RecordingEvents()
    store.commands = commands
    lock = threading.Lock()
    try:
        server = OscServer(store, events, host, port, allow, on_scene=None,
                           on_swap=lambda node, path: store.add(Swap(node, path)), lock=lock,
                           commands=lambda: store.commands,
                           on_command=lambda node, name, args: store.add(Command(node, name, args)))
    except OSError as error:
        conn.send(BindFailed(error.errno or 0, error.strerror or str(error)))
        return
    conn.send(Bound(server.host, server.port))
    server.start()
    sent: Counts | None = None
    next_counts = 0.0
    try:
        while os.getppid() == parent:      # a killed engine must not leave its port taken
            if conn.poll(FORWARD_S):
                message = conn.recv()
                if isinstance(message, Stop):
                    break
                if isinstance(message, NewSpecs):
                    with lock:
                        store.specs, store.scene_names = message.specs, set(message.scenes)
                        store.commands = message.commands
            counts = None
            with lock:
                actions = store.take()
                reports, events.pending = events.pending, []
                if time.monotonic() >= next_counts:
                    next_counts = time.monotonic() + COUNTS_EVERY_S
                    now = Counts(dict(server.counts), {a: dict(c) for a, c in server.by_address.items()})
                    counts, sent = (now, now) if now != sent else (None, sent)
            if actions or reports or counts:
                conn.send(Batch(actions, reports, counts))
    finally:
        server.stop()


class OscProcessServer:
    def __init__(self, store: ParamStore, events: EventLog, host: str = "127.0.0.1", port: int = 9000,
                 allow: tuple[str, ...] = (), on_scene: Callable[[str], None] | None = None,
                 on_swap: Callable[[str, str], None] | None = None,
                 commands: Callable[[], dict] | None = None,
                 on_command: Callable[[str, str, tuple], None] | None = None) -> None:
        self.store, self.events = store, events
        self.on_scene, self.on_swap = on_scene, on_swap
        self.commands, self.on_command = commands or (lambda: {}), on_command
        self.allow = tuple(allow)
        self.counts: Counter[str] = Counter()
        self.by_address: AddressCounts = AddressCounts()
        self._refused: Counter[str] = Counter()     # what only this side can refuse (a swap's model)
        self._child_counts = Counts({}, {})          # the running child's, since it started
        self._earlier = Counts({}, {})               # the children's before it (restarts)
        self.restarts = 0
        self.process: Any = None
        self._conn: Any = None
        self._running = threading.Event()
        self.host, self.port = host, port
        self._spawn()                               # raises OSError if the port is taken
        self._thread = threading.Thread(target=self._apply_loop, name="osc-apply", daemon=True)

    def _spawn(self) -> None:
        self._conn, child_conn = mp.Pipe()
        self._specs_sent = self._specs_now()
        self.process = mp.get_context("spawn").Process(
            target=_child, name="tensorstage-osc", daemon=True,
            args=(child_conn, self.host, self.port, self.allow, *self._specs_sent, os.getpid()))
        self.process.start()
        child_conn.close()
        if not self._conn.poll(20):
            self.process.kill()
            raise OSError(0, "the OSC process did not start")
        reply = self._conn.recv()
        if isinstance(reply, BindFailed):
            self.process.join(2)
            raise OSError(reply.errno, reply.strerror)
        self.host, self.port = reply.host, reply.port

    def _specs_now(self) -> tuple[dict, list, dict]:
        return dict(self.store.specs), sorted(self.store.scenes), dict(self.commands())

    @property
    def ignored(self) -> int:
        return sum(self.counts[k] for k in IGNORED)

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def alive(self) -> bool:
        """Its thread still serves (the watchdog asks)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._running.clear()
        try:
            self._conn.send(Stop())
        except (OSError, BrokenPipeError, ValueError):
            pass
        self._thread.join(1)
        self.process.join(1)
        if self.process.is_alive():
            self.process.kill()

    # The apply thread --------------------------------------------------------------
    def _apply_loop(self) -> None:
        next_check = 0.0
        failures = 0
        while self._running.is_set():
            try:
                if time.monotonic() >= next_check:      # twice a second, not once per batch under a flood
                    next_check = time.monotonic() + 0.5
                    specs = self._specs_now()
                    if specs != self._specs_sent:
                        self._conn.send(NewSpecs(*specs))      # a reload changed the parameters
                        self._specs_sent = specs
                if not self._conn.poll(0.1):
                    if not self.process.is_alive():
                        raise EOFError("the OSC process ended")
                    continue
                self._apply(self._conn.recv())
                failures = 0
            except (EOFError, OSError, BrokenPipeError):
                if self._running.is_set():
                    failures = self._restart(failures)
            except Exception:  # noqa: BLE001 - reported with its traceback; the thread goes on
                self.events.add(ERROR, "osc", "applying OSC failed, going on:\n" + traceback.format_exc())

    def _restart(self, failures: int) -> int:
        code = self.process.exitcode if self.process is not None else None
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        time.sleep(RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)])
        if not self._running.is_set():
            return failures
        try:
            self._spawn()
        except OSError as error:
            self.events.add(ERROR, "osc", f"the OSC process ended (exit code {code}) and could not start "
                                          f"again ({error.strerror}); trying again")
            return failures + 1
        self.restarts += 1
        self._earlier = _add(self._earlier, self._child_counts)
        self._child_counts = Counts({}, {})
        self.events.add(INFO, "osc", f"the OSC process ended (exit code {code}); started again on "
                                     f"{self.host}:{self.port}")
        return 0

    def _apply(self, batch: Batch) -> None:
        for action in batch.actions:
            try:
                if isinstance(action, Write):
                    self.store.set(action.key, action.value)
                elif isinstance(action, Recall):
                    self.store.recall(action.scene, action.fade_s)
                    if self.on_scene:
                        self.on_scene(action.scene)
                elif isinstance(action, StoreScene):
                    if action.scene in self.store.scenes or len(self.store.scenes) < MAX_SCENES:
                        self.store.store_scene(action.scene)
                elif isinstance(action, Swap) and self.on_swap:
                    self._swap(action)
                elif isinstance(action, Command) and self.on_command:
                    self.on_command(action.node, action.name, action.args)
            except ParamError:
                pass                                   # removed by a reload meanwhile
        for report in batch.reports:
            self.events.add(report.kind, report.source, report.message)
        if batch.counts is not None:
            self._take_counts(batch.counts)

    def _swap(self, action: Swap) -> None:
        try:
            self.on_swap(action.node, action.path)
        except ValueError as error:
            self.events.add(OSC, "/tensorstage/swap", f"{error}; ignored")
            self._refused["bad_args"] += 1

    def _take_counts(self, counts: Counts) -> None:
        self._child_counts = counts
        counts = _add(self._earlier, counts)
        totals = Counter(counts.totals) + self._refused
        by_address = AddressCounts({a: Counter(c) for a, c in counts.by_address.items()})
        if self._refused:
            by_address["/tensorstage/swap"]["bad_args"] += self._refused["bad_args"]
            by_address["/tensorstage/swap"]["applied"] -= self._refused["bad_args"]
            totals["applied"] -= self._refused["bad_args"]
        self.counts, self.by_address = totals, by_address


def _add(a: Counts, b: Counts) -> Counts:
    by_address: dict[str, Counter] = {k: Counter(v) for k, v in a.by_address.items()}
    for address, counter in b.by_address.items():
        by_address.setdefault(address, Counter()).update(counter)
    return Counts(dict(Counter(a.totals) + Counter(b.totals)), {k: dict(v) for k, v in by_address.items()})
