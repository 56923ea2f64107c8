"""The running graph: mailboxes between nodes, a thread per node, live reload.

Scheduling follows MediaPipe's flow limiter. Every video or control input of a
node is a latest-wins mailbox holding at most one waiting packet: when a packet
arrives before the node took the previous one, the previous one is dropped and
counted. So a slow node lowers its own frame rate and never builds a queue, and
the latency of a stream stays bounded by the time of its slowest node. Audio
inputs are the exception: every block matters, so they queue (bounded).

Each source has a thread that opens it (retrying with backoff if the device is
missing), then calls `process` in a loop; an error there closes and reopens the
device. Each other node has a worker thread, except a node that owns a window,
which the main thread runs through `Engine.step`. A node whose `process` raises
is bypassed for that packet: its outputs pass its input through when the types
match, or repeat its last good output; the error is counted and reported, and the
graph keeps running.
"""

from __future__ import annotations

import ctypes
import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from engine.clock import now_us
from engine.events import ERROR, INFO, RELOAD, EventLog
from engine.node import EngineContext, Node
from engine.packet import AUDIO, Packet
from engine.params import ParamStore, ParamView
from engine.patch import NodeDecl, Patch
from engine.stats import NodeStats

ENGINE_NODE = "tensorstage"    # OSC commands to the engine itself: /tensorstage/<name>
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 5.0
BRACE_FILL_S = 0.06     # time for the generators to fill the ring deeper before a reload's opens


class Receiver(Protocol):
    def put(self, packet: Packet) -> None: ...


class Mailbox:
    """One input port: holds only the newest packet (latest wins)."""

    def __init__(self, port: str, trigger: bool, wakeup: threading.Condition) -> None:
        self.port, self.trigger = port, trigger
        self._wakeup = wakeup
        self._item: Packet | None = None
        self.received = 0
        self.dropped = 0

    def put(self, packet: Packet) -> None:
        with self._wakeup:
            if self._item is not None:
                self.dropped += 1
            self._item = packet
            self.received += 1
            self._wakeup.notify()

    def take(self) -> Packet | None:
        """Caller holds the wakeup lock."""
        item, self._item = self._item, None
        return item

    @property
    def waiting(self) -> bool:
        return self._item is not None


class QueueMailbox(Mailbox):
    """An audio input: every block matters, so blocks queue in order, up to
    `capacity`; past that the oldest is dropped and counted (a stalled node
    must not make audio late forever)."""

    def __init__(self, port: str, trigger: bool, wakeup: threading.Condition, capacity: int = 32) -> None:
        super().__init__(port, trigger, wakeup)
        self.capacity = capacity
        self._items: deque[Packet] = deque()
        self.queued_frames = 0      # audio frames waiting (a generator's demand counts them)

    def put(self, packet: Packet) -> None:
        with self._wakeup:
            if len(self._items) >= self.capacity:
                self.queued_frames -= _frames(self._items.popleft())
                self.dropped += 1
            self._items.append(packet)
            self.queued_frames += _frames(packet)
            self.received += 1
            self._wakeup.notify()

    def take(self) -> Packet | None:
        if not self._items:
            return None
        packet = self._items.popleft()
        self.queued_frames -= _frames(packet)
        return packet

    @property
    def waiting(self) -> bool:
        return bool(self._items)


def _frames(packet: Packet) -> int:
    return len(packet.value) if hasattr(packet.value, "__len__") else 0


class DeviceDemand:
    """How many frames the sound device wants from a generator: the audio
    sink's own demand (its ring against the device) less what already waits
    in the sink's input queue, so a generator never runs ahead of it."""

    def __init__(self, sink: "NodeRunner") -> None:
        self.sink = sink

    def frames_wanted(self, lead_frames: int) -> int | None:
        wanted = self.sink.node.frames_wanted(lead_frames)
        if wanted is None:
            return None
        queued = sum(m.queued_frames for m in self.sink.mailboxes.values() if isinstance(m, QueueMailbox))
        return wanted - queued


class NodeRunner:
    """Runs one node: its mailboxes, its thread, its figures, its bypass."""

    def __init__(self, decl: NodeDecl, node: Node, events: EventLog, queued: frozenset[str] = frozenset()) -> None:
        self.decl, self.node, self.events = decl, node, events
        self.name = decl.name
        self.stats = NodeStats()
        self.is_source = node.is_source()
        self._wakeup = threading.Condition()
        # Audio queues: ports typed audio, and `queued` ones (an `any` port fed by audio).
        self.mailboxes = {port.name: (QueueMailbox if port.type == AUDIO or port.name in queued else Mailbox)(
                              port.name, port.trigger, self._wakeup) for port in node.inputs}
        self.downstream: dict[str, list[Receiver]] = {}
        self.opened = False
        self.bypassed = False       # open failed: every packet is bypassed
        self.on_main_thread = node.wants_main_thread()
        self.thread: threading.Thread | None = None
        self._latest: dict[str, Packet] = {}
        self._last_good: dict[str, Packet] = {}
        self._last_ts: dict[str, int] = {}
        self._backoff_s = BACKOFF_FIRST_S
        self.busy_since_us = 0      # inside the node's process (0: not); the watchdog asks

    # Opening and closing -------------------------------------------------------
    def open(self) -> bool:
        try:
            self.node.open()
        except Exception as error:  # noqa: BLE001 - any failure to open is reported, never fatal
            self.stats.errors += 1
            self.stats.last_error = f"open failed: {error}"
            what = "will retry" if self.is_source else "bypassed"
            self.events.add(ERROR, self.name, f"could not open ({what}): {_explain(error)}")
            self.bypassed = not self.is_source
            return False
        self.opened = True
        return True

    def close(self) -> None:
        if not self.opened:
            return
        self.opened = False
        try:
            self.node.close()
        except Exception as error:  # noqa: BLE001
            self.events.add(ERROR, self.name, f"error while closing: {_explain(error)}")

    # Threads -----------------------------------------------------------------
    def start(self) -> None:
        if self.on_main_thread:
            return
        target = self._source_loop if self.is_source else self._worker_loop
        prefix = "source" if self.is_source else "node"
        self.thread = threading.Thread(target=target, name=f"{prefix}:{self.name}", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.downstream = {}
        self.node.stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
            if self.thread.is_alive():
                self.events.add(ERROR, self.name, f"did not stop within {timeout:.1f} s; left behind")

    def _source_loop(self) -> None:
        while not self.node.stopping.is_set():
            self.source_step()
        self.close()

    def _worker_loop(self) -> None:
        while not self.node.stopping.is_set():
            if not self.run_once(timeout=0.1):
                self.idle()

    def idle(self) -> None:
        try:
            self.node.idle()
        except Exception as error:  # noqa: BLE001 - like process: counted, reported, never fatal
            self.stats.errors += 1
            self.stats.last_error = _explain(error)
            self.events.add(ERROR, self.name, f"idle failed: {_explain(error)}")

    # One step ----------------------------------------------------------------
    def source_step(self) -> None:
        """Open the source if needed (backing off after failures), else produce once."""
        if not self.opened:
            if self.open():
                self._backoff_s = BACKOFF_FIRST_S
            else:
                self._back_off()
            return
        self.busy_since_us = now_us()
        try:
            outputs = self.node.process(self._sample() if self.mailboxes else {})
        except Exception as error:  # noqa: BLE001 - a lost device is reopened, never fatal
            self.busy_since_us = 0
            self.stats.errors += 1
            self.stats.reopens += 1
            self.stats.last_error = _explain(error)
            self.events.add(ERROR, self.name, f"{_explain(error)}; reopening")
            self.close()
            self._back_off()
            return
        self.busy_since_us = 0
        self._emit(outputs or {})

    def _sample(self) -> dict[str, Packet]:
        """A generator's inputs: the newest packet of each, without waiting."""
        with self._wakeup:
            for port, mailbox in self.mailboxes.items():
                packet = mailbox.take()
                if packet is not None:
                    self._latest[port] = packet
        return {port: packet for port, packet in self._latest.items() if port in self.decl.inputs}

    def _back_off(self) -> None:
        self.node.wait(self._backoff_s)
        self._backoff_s = min(BACKOFF_MAX_S, self._backoff_s * 2)

    def run_once(self, timeout: float) -> bool:
        """Wait up to `timeout` for a trigger packet and process it; True if one came."""
        with self._wakeup:
            if not self._triggered():
                self._wakeup.wait(timeout)
            if not self._triggered():
                return False
            trigger: Packet | None = None
            for port, mailbox in self.mailboxes.items():
                packet = mailbox.take()
                if packet is not None:
                    self._latest[port] = packet
                    if mailbox.trigger and (trigger is None or packet.ts_us > trigger.ts_us):
                        trigger = packet
        assert trigger is not None
        self.stats.frames_in += 1
        inputs = {port: packet for port, packet in self._latest.items()
                  if port in self.decl.inputs}
        self._handle(inputs, trigger)
        return True

    def _triggered(self) -> bool:
        return any(m.trigger and m.waiting for m in self.mailboxes.values())

    def _handle(self, inputs: dict[str, Packet], trigger: Packet) -> None:
        if self.bypassed:
            self._emit(self._bypass(inputs, trigger))
            return
        start = self.busy_since_us = now_us()
        try:
            outputs = self.node.process(inputs) or {}
        except Exception as error:  # noqa: BLE001 - a failing node is bypassed, never fatal
            self.stats.errors += 1
            self.stats.last_error = _explain(error)
            self.events.add(ERROR, self.name, f"process failed, bypassed: {_explain(error)}")
            outputs = self._bypass(inputs, trigger)
        else:
            self._last_good.update(outputs)
        end = now_us()
        self.busy_since_us = 0
        self.stats.process_ms.add((end - start) / 1000)
        self.stats.latency_ms.add((end - trigger.ts_us) / 1000)
        self.stats.count_done(end)
        self._emit(outputs)

    def _bypass(self, inputs: dict[str, Packet], trigger: Packet) -> dict[str, Packet]:
        """Pass an input of the same type through, else hold the last good output."""
        outputs: dict[str, Packet] = {}
        for out in self.node.outputs:
            same_type = [p.name for p in self.node.inputs if p.name in inputs and p.type == out.type]
            if same_type:
                outputs[out.name] = inputs[same_type[0]]
            elif out.name in self._last_good:
                outputs[out.name] = trigger.derive(self._last_good[out.name].value)
        return outputs

    def _emit(self, outputs: dict[str, Packet]) -> None:
        downstream = self.downstream
        for port, packet in outputs.items():
            last = self._last_ts.get(port)
            if last is not None and packet.ts_us <= last:
                self.stats.out_of_order += 1  # timestamps only go up on a stream
                continue
            self._last_ts[port] = packet.ts_us
            for receiver in downstream.get(port, ()):
                try:
                    receiver.put(packet)
                except Exception as error:  # noqa: BLE001 - a receiver (an OSC tap) must not end this thread
                    self.stats.errors += 1
                    self.stats.last_error = _explain(error)
                    self.events.add(ERROR, self.name, f"output {port!r} could not be delivered: {_explain(error)}")
        if outputs:
            self.stats.frames_out += 1
            if self.is_source:
                self.stats.count_done(now_us())

    def dropped(self) -> int:
        return sum(m.dropped for m in self.mailboxes.values() if m.trigger)

    def snapshot(self) -> dict[str, Any]:
        figures = self.stats.snapshot(self.dropped())
        figures["type"] = self.decl.type
        return figures


def _has_audio(patch: Patch) -> bool:
    return any(port.type == AUDIO for decl in patch.nodes.values()
               for port in decl.node_class.inputs + decl.node_class.outputs)


def _output_type(patch: Patch, node: str, port: str) -> str:
    return next(p.type for p in patch.nodes[node].node_class.outputs if p.name == port)


def _audio_sink_downstream(patch: Patch, start: str) -> str | None:
    """The first node that presents audio (the speakers), following audio
    connections down from `start`: the device that clocks a generator."""
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop(0)
        for decl in patch.nodes.values():
            for port, (source, source_port) in decl.inputs.items():
                if source == node and decl.name not in seen and _output_type(patch, source, source_port) == AUDIO:
                    if decl.node_class.presents == "audio":
                        return decl.name
                    seen.add(decl.name)
                    todo.append(decl.name)
    return None


def _explain(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass
class _PendingSwap:
    patch: Patch
    new_runners: dict[str, NodeRunner]


class Engine:
    """A patch brought to life: its nodes, their threads, its parameter store."""

    def __init__(self, patch: Patch, context: EngineContext | None = None,
                 events: EventLog | None = None, store: ParamStore | None = None) -> None:
        self.patch = patch
        self.events = events or EventLog()
        self.context = context or EngineContext(patch_name=patch.name)
        self.context.report = lambda node, message: self.events.add(INFO, node, message)
        self.context.request_stop = self.request_stop
        self.context.snapshot = self.snapshot
        self.context.set_param = lambda key, value: self.store.set(key, value)
        self.context.key_pressed = self.key_pressed
        self.context.patch_path = patch.path
        self._tell_audio(patch)
        self.store = store or ParamStore()
        self.context.params = self.store
        self.store.define(patch.param_specs())
        self.store.load_scenes(patch.scenes, patch.scene_commands)
        self.store.send_command = self.command
        self.store.node_state = self._node_state
        self.runners: dict[str, NodeRunner] = {}
        self.stop_requested = threading.Event()
        self.stopped = threading.Event()       # every node stopped and closed (files ended)
        self.resting = False                   # nodes closed by `rest` until `wake`
        self.stop_reason = ""
        self._pending: list[_PendingSwap] = []
        self._pending_lock = threading.Lock()
        # Reloads (a saved file, a swap over OSC) are prepared one at a time, each
        # on the patch the previous one left, by one worker (engine/graph.py: Reloads).
        self.reloads = Reloads(self)
        self.started_us = 0
        # /tensorstage/<name> commands (the schedule's override): name -> handler(name, args)
        self.commands: dict[str, Callable[[str, tuple], None]] = {}
        # Extra receivers on output ports (OSC taps on control streams), per
        # patch: called again on every reload, so they follow the wiring.
        self.taps: Callable[[Patch], dict[tuple[str, str], list[Receiver]]] | None = None

    def _tell_audio(self, patch: Patch) -> None:
        """What the nodes need to know of the patch's audio, at start and on reload."""
        self.context.audio_running = _has_audio(patch)
        self.context.audio_process = patch.audio.get("process", True)
        self.context.audio_realtime = patch.audio.get("realtime", True)

    # Life cycle --------------------------------------------------------------
    def start(self) -> None:
        """Open every node and start the threads. Call from the main thread."""
        self.started_us = now_us()
        self.runners = self._build(self.patch.nodes.values(), self.patch)
        self._open_off_main_thread(self.runners.values())
        self._open_main_thread(self.runners.values())
        self._wire(self.runners, self.patch)
        self._start_threads(self.runners.values())

    def stop(self, reason: str = "", timeout_s: float = 2.0) -> None:
        """Stop every node within `timeout_s` in all (a thread that does not
        stop by then is left behind, reported), then close them: files end."""
        if reason and not self.stop_reason:
            self.stop_reason = reason
        self.stop_requested.set()
        self.reloads.stop()
        self._stop_runners(list(self.runners.values()), timeout_s)
        self.stopped.set()

    def rest(self) -> None:
        """Stop and close every node, keeping the patch, its parameters and its
        OSC namespace: the schedule's "stop" mode outside opening hours (the
        camera, the sound device and the models are released). A reload while
        resting is kept for `wake`, which opens the nodes again. Main thread."""
        if self.resting:
            return
        self.resting = True
        self._stop_runners(list(self.runners.values()), timeout_s=2.0)
        self.runners = {}
        self.events.add(INFO, "", "resting: every node stopped and closed until the show opens again")

    def wake(self) -> None:
        if not self.resting:
            return
        self.resting = False
        self.start()
        self.events.add(INFO, "", f"awake: {len(self.runners)} node(s) opened again")

    def _stop_runners(self, runners: list[NodeRunner], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for runner in runners:                 # every thread told at once, then waited for
            runner.node.stopping.set()
        # Sources first, so nothing new enters while the rest drains.
        for runner in sorted(runners, key=lambda r: not r.is_source):
            runner.stop(timeout=max(0.05, deadline - time.monotonic()))
        for runner in runners:
            if not runner.is_source:
                runner.close()

    def request_stop(self, reason: str) -> None:
        """Ask the main loop to stop (a window's quit key, a signal)."""
        if not self.stop_reason:
            self.stop_reason = reason
        self.stop_requested.set()

    def step(self, timeout: float = 0.01) -> None:
        """One turn of the main thread: run window nodes, apply a finished reload."""
        main = [r for r in self.runners.values() if r.on_main_thread]
        if main:
            for runner in main:
                if not runner.run_once(timeout / len(main)):
                    runner.idle()
        else:
            self.stop_requested.wait(timeout)
        with self._pending_lock:
            pending, self._pending = self._pending, []
        for swap in pending:
            try:
                self._apply(swap)
            except Exception:  # noqa: BLE001 - a reload that fails halfway must not stop the show
                self.events.add(ERROR, "", "reload failed while switching; the nodes that opened are closed:\n"
                                + traceback.format_exc())
                for runner in swap.new_runners.values():
                    if runner not in self.runners.values():
                        runner.stop()
                        runner.close()
            finally:
                self.reloads.applied()

    # Live reload ---------------------------------------------------------------
    def change_option(self, node: str, option: str, value: Any) -> None:
        """Reload the running patch with one option changed, as if its file had
        been edited (swapping a model over OSC): the changed node opens beside
        the running one on the reload worker, crossfades in on success, and a
        failure leaves the running node. PatchError if the change is invalid."""
        self.patch.with_option(node, option, value)          # checked now, so the caller hears of a mistake
        self.events.add(RELOAD, node, f"{option} = {value!r} requested; loading beside the running node")
        self.reloads.request(lambda current: current.with_option(node, option, value))

    def command(self, node: str, name: str, args: tuple, at_us: int | None = None) -> None:
        """An OSC command for a node (checked against its OscCommand already), or
        a scene recall's for a node's state, due at `at_us` (the next bar)."""
        if node == ENGINE_NODE:
            handler = self.commands.get(name)
            if handler is not None:
                handler(name, args)
            return
        runner = self.runners.get(node)
        if runner is not None:
            runner.node.post_command(name, args, at_us)

    def _node_state(self) -> list[tuple[str, str, tuple]]:
        """What /scene/store records besides parameters: each node's state as
        commands, after the command that empties it."""
        out = []
        for name, runner in list(self.runners.items()):
            node = runner.node
            if node.scene_commands:
                out.append((name, node.scene_clear, ()))
                out.extend((name, command, args) for command, args in node.scene_state())
        return out

    def key_pressed(self, key: str) -> bool:
        """A key the window does not use, for the nodes whose type claims it (window_keys)."""
        taken = False
        for runner in list(self.runners.values()):
            command = runner.node.window_keys.get(key)
            if command is not None:
                runner.node.post_command(command, ())
                taken = True
        return taken

    def reload(self, patch: Patch) -> None:
        """Reload the running patch as `patch` (its file was saved): queued behind
        any reload or swap in progress."""
        self.reloads.request(lambda current: patch)

    def prepare_reload(self, patch: Patch) -> bool:
        """Build and open what the new patch changes, beside the running nodes;
        True if it is now waiting for the main thread.

        Runs on the reload worker's thread, so slow opens (a model) never stall
        the window; `step` then swaps the wiring on the main thread.
        """
        if self.resting:                   # nothing to open: `wake` opens the patch as it is then
            with self._pending_lock:
                self._pending.append(_PendingSwap(patch, {}))
            return True
        kept = self._kept(patch)
        new_runners = self._build((d for n, d in patch.nodes.items() if n not in kept), patch)
        with self._bracing_audio(bool(new_runners)):
            self._open_off_main_thread(new_runners.values(), on_this_thread=True)
        failed = [r for r in new_runners.values() if r.bypassed]
        if failed:
            # A node that replaces a working one must work too (a mistyped model
            # path mid-show): keep the running patch.
            for runner in new_runners.values():
                runner.close()
            self.events.add(RELOAD, "", "reload rejected, the running patch stays: "
                            + "; ".join(f"node {r.name!r} could not open ({r.stats.last_error.removeprefix('open failed: ')})"
                                       for r in failed))
            return False
        with self._pending_lock:
            self._pending.append(_PendingSwap(patch, new_runners))
        return True

    @contextmanager
    def _bracing_audio(self, opening: bool):
        """Generators fill the speakers' ring deeper while nodes open beside the
        show, and the opens wait until they have: without it, about one model
        load in ten emptied the ring at 256 frames (`bench soak`)."""
        if not (opening and self.context.audio_running):
            yield
            return
        self.context.bracing.set()
        try:
            time.sleep(BRACE_FILL_S)
            yield
        finally:
            self.context.bracing.clear()

    def _kept(self, patch: Patch) -> set[str]:
        return {name for name, decl in patch.nodes.items()
                if name in self.runners and self.runners[name].decl.same_instance(decl)}

    def _apply(self, swap: _PendingSwap) -> None:
        if self.resting:
            for runner in swap.new_runners.values():     # prepared before the rest began
                runner.close()
            self._tell_audio(swap.patch)
            self.store.define(swap.patch.param_specs())
            self.store.load_scenes(swap.patch.scenes, swap.patch.scene_commands)
            self.patch = swap.patch
            self.events.add(RELOAD, "", f"reloaded {swap.patch.path or swap.patch.name} while resting: "
                                        "it opens when the show does")
            return
        patch, kept = swap.patch, self._kept(swap.patch)
        self._open_main_thread(swap.new_runners.values())
        removed = [r for n, r in self.runners.items() if n not in kept]
        for name, runner in swap.new_runners.items():
            previous = self.runners.get(name)
            if previous is not None and previous.decl.type == runner.decl.type and not runner.bypassed:
                try:
                    runner.node.take_over(previous.node)
                except Exception as error:  # noqa: BLE001 - a seamless change is a nicety, not a must
                    self.events.add(RELOAD, name, f"take-over failed, a plain switch instead: {error}")
        runners: dict[str, NodeRunner] = {}
        for name, decl in patch.nodes.items():
            runner = self.runners[name] if name in kept else swap.new_runners[name]
            runner.decl = decl
            runners[name] = runner
        self._tell_audio(patch)
        # Old and new parameters both exist until the old nodes have stopped.
        self.store.define({**self.patch.param_specs(), **patch.param_specs()})
        self._wire(runners, patch)
        self._start_threads(swap.new_runners.values())
        for runner in removed:
            runner.stop()
            runner.close()
        self.store.define(patch.param_specs())
        self.store.load_scenes(patch.scenes, patch.scene_commands)
        self.runners, self.patch = runners, patch
        changed = sorted(swap.new_runners)
        self.events.add(RELOAD, "", f"reloaded {patch.path or patch.name}: "
                                    f"{len(kept)} node(s) kept running"
                        + (f", started {', '.join(changed)}" if changed else "")
                        + (f", removed {', '.join(r.name for r in removed if r.name not in patch.nodes)}"
                           if any(r.name not in patch.nodes for r in removed) else ""))

    # Building blocks -----------------------------------------------------------
    def _build(self, decls: Any, patch: Patch) -> dict[str, NodeRunner]:
        runners = {}
        for decl in decls:
            node = decl.node_class(decl.name, dict(decl.options), ParamView(self.store, decl.name),
                                   self.context)
            node.wiring = {port: f"{source}.{source_port}" for port, (source, source_port) in decl.inputs.items()}
            fed_audio = frozenset(port for port, (source, source_port) in decl.inputs.items()
                                  if _output_type(patch, source, source_port) == AUDIO)
            runners[decl.name] = NodeRunner(decl, node, self.events, fed_audio)
        return runners

    def _open_off_main_thread(self, runners: Any, on_this_thread: bool = False) -> None:
        """Open processors and sinks (sources open in their own threads)."""
        todo = [r for r in runners if not r.is_source and not r.on_main_thread]
        if on_this_thread:
            for runner in todo:
                runner.open()
            return
        opener = threading.Thread(target=lambda: [r.open() for r in todo], name="node-open", daemon=True)
        opener.start()
        while opener.is_alive() and not self.stop_requested.is_set():
            opener.join(0.1)      # a signal during a slow open (a model loading) is heard at once

    @staticmethod
    def _open_main_thread(runners: Any) -> None:
        for runner in runners:
            if runner.on_main_thread:
                runner.open()

    def _wire(self, runners: dict[str, NodeRunner], patch: Patch) -> None:
        downstream: dict[str, dict[str, list[Receiver]]] = {name: {} for name in runners}
        for decl in patch.nodes.values():
            for port, (source, source_port) in decl.inputs.items():
                downstream[source].setdefault(source_port, []).append(runners[decl.name].mailboxes[port])
        for (node, port), receivers in (self.taps(patch) if self.taps else {}).items():
            downstream[node].setdefault(port, []).extend(receivers)
        for name, runner in runners.items():
            runner.downstream = downstream[name]
            if runner.node.generator:
                presenter = _audio_sink_downstream(patch, name)
                runner.node.clocked_by = DeviceDemand(runners[presenter]) if presenter else None

    @staticmethod
    def _start_threads(runners: Any) -> None:
        # Sinks and processors first, so a source's first packet has somewhere to go.
        for runner in sorted(runners, key=lambda r: r.is_source):
            runner.start()

    # Figures ----------------------------------------------------------------
    def av_offset_ms(self) -> float | None:
        """How much later the picture reaches its screen than the sound its
        speakers (positive: picture late), from capture to output on the one
        engine clock: the video sink's median latency minus the speakers' median
        latency plus their device and ring latency. None without both."""
        measured = [r for r in self.runners.values() if r.stats.latency_ms.percentile(50) is not None]
        video = [r for r in measured if r.node.presents == "video"]
        audio = [r for r in measured if r.node.presents == "audio"]
        if not video or not audio:
            return None
        picture = max(r.stats.latency_ms.percentile(50) + r.node.output_latency_ms() for r in video)
        sound = max(r.stats.latency_ms.percentile(50) + r.node.output_latency_ms() for r in audio)
        return picture - sound

    def status(self) -> dict[str, int | float]:
        """The figures node types declare for the status stream, combined over
        the running nodes (`StatusFigure.combine`)."""
        combined: dict[str, int | float] = {}
        for runner in self.runners.values():
            declared = {f.address: f for f in runner.node.declared_status(self.patch.audio)}
            if not declared:
                continue
            try:
                values = runner.node.status()
            except Exception as error:  # noqa: BLE001 - a figure is not worth a heartbeat
                self.events.add(ERROR, runner.name, f"status failed: {_explain(error)}")
                continue
            for address, value in values.items():
                figure = declared.get(address)
                if figure is None:
                    continue
                value = int(value) if figure.type_tag == "i" else float(value)
                if address not in combined:
                    combined[address] = value
                else:
                    combined[address] = max(combined[address], value) if figure.combine == "max" \
                        else combined[address] + value
        return combined

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: runner.snapshot() for name, runner in self.runners.items()}

    def stuck(self, after_s: float) -> list[str]:
        """Nodes busy on one packet for longer than `after_s`, or whose thread died."""
        now = now_us()
        found = []
        for name, runner in list(self.runners.items()):
            busy = runner.busy_since_us
            if busy and (now - busy) / 1e6 > after_s:
                found.append(f"node {name} busy for {(now - busy) / 1e6:.0f} s")
            elif runner.thread is not None and not runner.thread.is_alive() and not runner.node.stopping.is_set():
                found.append(f"node {name}'s thread ended")
        return found


def release_freed_memory() -> None:
    """Hand the pages a replaced node freed (a model's weights and arena) back
    to the system: glibc keeps them in per-thread arenas otherwise, and an
    installation's memory then climbs in steps with every swap until every
    arena holds its largest moment (`bench soak`)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):        # not glibc: nothing to hand back this way
        pass


class Reloads:
    """One worker that prepares reloads in order: each request is a function
    of the running patch (a saved file replaces it; a swap changes one option of
    it), called only once the previous reload was applied, so two swaps, or a
    swap and a save, never build on a stale patch."""

    APPLY_TIMEOUT_S = 30.0      # a main loop that stopped stepping must not hold the queue for ever

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: deque[Callable[[Patch], Patch]] = deque()
        self._wake = threading.Condition()
        self._applied = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def request(self, make: Callable[[Patch], Patch]) -> None:
        with self._wake:
            self._queue.append(make)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reload", daemon=True)
                self._thread.start()
            self._wake.notify()

    def applied(self) -> None:
        self._applied.set()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._queue.clear()
            self._wake.notify()
        self._applied.set()

    def _run(self) -> None:
        from engine.patch import PatchError
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait(1.0)
                if self._stopping:
                    return
                make = self._queue.popleft()
            try:
                patch = make(self.engine.patch)
                self._applied.clear()
                if self.engine.prepare_reload(patch):
                    self._applied.wait(self.APPLY_TIMEOUT_S)
                    release_freed_memory()
            except PatchError as error:
                self.engine.events.add(RELOAD, "", "reload rejected, the running patch stays:\n  "
                                       + "\n  ".join(error.problems))
            except Exception:  # noqa: BLE001 - the reload worker outlives any request
                self.engine.events.add(ERROR, "", "reload failed, the running patch stays:\n"
                                       + traceback.format_exc())


class PatchWatcher:
    """Reloads the running patch when its file changes.

    Polls the file's modification time (no extra dependency, works on every
    filesystem an installation might use). A patch that fails validation is
    rejected with its messages and the running patch stays.
    """

    def __init__(self, engine: Engine, load: Callable[[Any], Patch], interval_s: float = 0.5) -> None:
        self.engine, self.load, self.interval_s = engine, load, interval_s
        self.path = engine.patch.path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="patch-reload", daemon=True)
        self._seen = self._stamp()

    def start(self) -> None:
        if self.path is not None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat() if self.path else None
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size) if info else None

    def _run(self) -> None:
        from engine.patch import PatchError
        while not self._stop.wait(self.interval_s):
            stamp = self._stamp()
            if stamp is None or stamp == self._seen:
                continue
            self._seen = stamp
            time.sleep(0.05)  # let an editor finish writing
            try:
                patch = self.load(self.path)
            except PatchError as error:
                self.engine.events.add(RELOAD, "", "reload rejected, the running patch stays:\n  "
                                       + "\n  ".join(error.problems))
                continue
            except Exception:  # noqa: BLE001 - any file content: the watcher and the patch stay
                self.engine.events.add(ERROR, "", f"reload of {self.path} failed, the running patch stays:\n"
                                       + traceback.format_exc())
                continue
            self.engine.reload(patch)
