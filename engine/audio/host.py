"""Where the sound devices run: in a process of their own (the default), or in
the engine's process (`[audio] process = false`).

The audio callbacks are Python and need a GIL. In the engine's process they
share it with video, models and OSC, and a thread that holds it for a few
milliseconds makes the speakers miss a period. In the audio process (spawned:
numpy and sounddevice, never TensorFlow) the callbacks have a GIL to
themselves; the nodes stay in the engine and meet their callbacks in shared
memory (engine/audio/feed.py): the speakers write their ring there, the
microphone reads its ring and capture stamps from there. Opening, reopening and
closing streams are requests to the audio process, sent by the nodes' workers.
When PortAudio must start over (a restarted sound server) the audio process
does it; when PortAudio is stuck in a driver (a stream that will not close,
engine/audio/device.py) or the audio process died, it is started again and
every node's side joins the new one, while the rest of the engine runs on.

`bench audio` measures both designs; docs/BENCHMARKS.md has the figures.
Like any spawned process, the audio process imports the main module again: a
script of one's own that runs an engine needs `if __name__ == "__main__":`.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing as mp
import os
import threading
from typing import Any, Callable

from engine.audio import device, stream
from engine.audio.feed import OPEN, InputFeed, OutputFeed, SideMemory
from engine.audio.stream import INPUT, DeviceLost, Side
from engine.clock import now_us
from engine.node import StatusFigure

REALTIME_PRIORITY = 20       # SCHED_FIFO: above all ordinary work, below the sound server's own threads (88 here)
NICE = -10                   # where real-time is not allowed, a higher share of the CPU
REQUEST_TIMEOUT_S = 10.0     # opening a stream takes well under a second; a driver that hangs, longer
START_TIMEOUT_S = 20.0


class AudioHostError(RuntimeError):
    """PortAudio's error, as the audio process told it."""


class StreamHandle:
    """A node's side of a device stream, wherever that stream runs."""

    def __init__(self, host: "LocalHost | ProcessHost", side_id: int, memory: SideMemory,
                 on_opened: Callable[[str, bool], None], request: tuple) -> None:
        self.host, self.side_id, self.memory = host, side_id, memory
        self.on_opened = on_opened
        self.request = request          # how it joined: sent again to a new audio process
        self.latency_s = 0.0            # PortAudio's figure for this side, once open
        self.next_try_us = 0
        self.joined_in = 0              # which audio process (ProcessHost.starts) holds this side
        self.device_stream: stream.DeviceStream | None = None   # these two in the engine's process only
        self.side: Side | None = None

    @property
    def is_open(self) -> bool:
        return self.host.is_open(self)

    def silent_s(self) -> float:
        return self.memory.silent_s()

    def keep(self, retry_s: float, now: bool = False) -> None:
        """Reopen a stream that stopped (raising DeviceLost), open one that is
        due; PortAudio's error (AudioHostError in the audio process) when an
        open fails."""
        self.host.keep(self, retry_s, now)

    def opened(self, name: str, duplex: bool, latency_s: float) -> None:
        self.latency_s = latency_s
        self.on_opened(name, duplex)


def _feed(direction: str, memory: SideMemory, buffer_s: float) -> InputFeed | OutputFeed:
    return InputFeed(memory) if direction == INPUT else OutputFeed(memory, buffer_s)


class LocalHost:
    """The streams in the engine's process: the nodes' workers call the
    streams directly, and the callbacks run on this process's GIL."""

    in_process = True

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def join(self, direction: str, device_option: int | str, rate: int, block: int, channels: int,
             latency_s: float, duplex: bool | str, memory: SideMemory,
             on_opened: Callable[[str, bool], None], realtime: bool = False) -> StreamHandle:
        """(`realtime` is for the audio process: a callback here shares its GIL with the engine.)"""
        handle = StreamHandle(self, next(self._ids), memory, on_opened, ())
        feed = _feed(direction, memory, latency_s)

        def opened(name: str, is_duplex: bool, side_latency_s: float) -> None:
            feed.opened()
            handle.opened(name, is_duplex, side_latency_s)

        handle.side = Side(channels, latency_s, feed.callback, opened)
        handle.device_stream = stream.join(direction, device_option, rate, block, handle.side, duplex)
        return handle

    def is_open(self, handle: StreamHandle) -> bool:
        return handle.device_stream is not None and handle.device_stream.stream is not None

    def keep(self, handle: StreamHandle, retry_s: float, now: bool) -> None:
        assert handle.device_stream is not None
        try:
            handle.device_stream.keep(retry_s, now)
        except DeviceLost as error:
            if device.stuck_streams:
                raise DeviceLost(f"{error}; restart tensorstage when the show allows") from None
            raise

    def leave(self, handle: StreamHandle) -> None:
        if handle.device_stream is not None and handle.side is not None:
            stream.leave(handle.device_stream, handle.side)
            handle.device_stream = None

    def reinitialize(self) -> bool:
        return device.reinitialize()


# The audio process -----------------------------------------------------------

def _raise_priority() -> str:
    """Scheduling for the calling thread, PortAudio's callback thread at its
    first call: it must run when the period is due, however busy the engine
    keeps the cores. Real-time where the system allows it (root, or an rtprio
    limit as audio groups grant), else a higher nice. (Set on the thread that
    opens streams instead, it did not last: opening a stream through the ALSA
    plugin put that thread back to normal.)"""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        return f"real-time priority (SCHED_FIFO {REALTIME_PRIORITY})"
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
        return f"nice {NICE}"
    except (AttributeError, OSError):
        return "normal priority (the system allows no higher)"


def _serve(conn: Any, parent: int) -> None:
    """The audio process: joins, keeps and leaves streams on request; the
    callbacks run on PortAudio's threads meanwhile. Ends when asked, when the
    engine's end of the pipe closes, or when the engine is gone."""
    from engine.realtime import tune_for_real_time
    try:
        device.sounddevice()
    except OSError as error:
        conn.send(("error", str(error)))
        return
    conn.send(("ready", os.getpid()))
    tune_for_real_time()
    sides: dict[int, tuple[SideMemory, Side, stream.DeviceStream]] = {}
    events: list[tuple] = []     # streams opened while answering a request: told in its reply
    while os.getppid() == parent:
        if not conn.poll(0.5):
            continue
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request[0] == "stop":
            break
        try:
            result = _handle(request, sides, events)
            reply: tuple = ("ok", result)
        except DeviceLost as error:
            reply = ("lost", str(error))
        except Exception as error:  # noqa: BLE001 - PortAudio's errors, told to the node that asked
            plain = type(error).__name__ == "PortAudioError"
            reply = ("error", str(error) if plain else f"{type(error).__name__}: {error}")
        states = {side_id: (int(joined.stream is not None), joined.next_try_us)
                  for side_id, (_, _, joined) in sides.items()}
        conn.send((*reply, list(events), states, device.stuck_streams))
        events.clear()
    for side_id in list(sides):
        _handle(("leave", side_id), sides, events)
    if device.stuck_streams:
        os._exit(0)       # the interpreter's exit would wait for ever on PortAudio's stuck thread


def _handle(request: tuple, sides: dict, events: list) -> Any:
    op = request[0]
    if op == "join":
        _, side_id, direction, device_option, rate, block, channels, latency_s, duplex, name, frames, realtime = request
        memory = SideMemory(frames, channels, name=name)
        feed = _feed(direction, memory, latency_s)

        raised: list[str] = [] if realtime else ["not asked"]

        def opened(device_name: str, is_duplex: bool, side_latency_s: float) -> None:
            feed.opened()
            if realtime:
                raised.clear()        # a new stream has a new thread
            events.append((side_id, device_name, is_duplex, side_latency_s))

        def callback(buffer: Any, frames: int, time: Any, status: Any) -> None:
            if not raised:            # once, on PortAudio's thread
                raised.append(_raise_priority())
            feed.callback(buffer, frames, time, status)

        side = Side(channels, latency_s, callback, opened)
        try:
            joined = stream.join(direction, device_option, rate, block, side, duplex)
        except Exception:
            memory.close()
            raise
        sides[side_id] = (memory, side, joined)
        return None
    if op == "keep":
        _, side_id, retry_s, now = request
        sides[side_id][2].keep(retry_s, now)
        return None
    if op == "leave":
        memory, side, joined = sides.pop(request[1])
        stream.leave(joined, side)
        memory.close()
        return None
    if op == "reinitialize":
        return device.reinitialize()
    raise ValueError(f"unknown request {op!r}")


class ProcessHost:
    """The streams in the audio process. One lock orders the requests of all
    the nodes' workers; the real-time path never takes it."""

    in_process = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._handles: dict[int, StreamHandle] = {}
        self._process: Any = None
        self._conn: Any = None
        self.pid = 0
        self.unavailable = ""      # why PortAudio cannot load: it will not appear mid-run, so no more tries
        self.starts = 0            # audio processes started, the first included
        self.restart_reasons: list[str] = []

    # Requests -----------------------------------------------------------------
    def join(self, direction: str, device_option: int | str, rate: int, block: int, channels: int,
             latency_s: float, duplex: bool | str, memory: SideMemory,
             on_opened: Callable[[str, bool], None], realtime: bool = True) -> StreamHandle:
        with self._lock:
            side_id = next(self._ids)
            request = ("join", side_id, direction, device_option, rate, block, channels, latency_s, duplex,
                       memory.name, memory.frames, realtime)
            handle = StreamHandle(self, side_id, memory, on_opened, request)
            self._handles[side_id] = handle
            try:
                self._call(request)
                handle.joined_in = self.starts
            except BaseException:
                self._handles.pop(side_id, None)
                try:
                    self._call(("leave", side_id))   # in case a new audio process joined it meanwhile
                except Exception:  # noqa: BLE001 - it never joined: nothing to leave
                    pass
                raise
            return handle

    def is_open(self, handle: StreamHandle) -> bool:
        return bool(handle.memory.count(OPEN))

    def keep(self, handle: StreamHandle, retry_s: float, now: bool) -> None:
        # Most calls find the stream playing, or its retry not yet due: no request.
        if handle.is_open and handle.silent_s() < 1.0:
            return
        if not handle.is_open and not now and now_us() < handle.next_try_us:
            return
        with self._lock:
            if handle.joined_in != self.starts:    # a new audio process could not take it when it started
                try:
                    self._call(handle.request)
                except Exception:
                    handle.next_try_us = now_us() + int(retry_s * 1e6)
                    raise
                handle.joined_in = self.starts
            self._call(("keep", handle.side_id, retry_s, now))

    def leave(self, handle: StreamHandle) -> None:
        with self._lock:
            if self._handles.pop(handle.side_id, None) is None or handle.joined_in != self.starts:
                return
            try:
                self._call(("leave", handle.side_id))
            except (DeviceLost, AudioHostError):
                pass                       # the process went away: nothing left to leave

    def reinitialize(self) -> bool:
        with self._lock:
            try:
                return bool(self._call(("reinitialize",)))
            except (DeviceLost, AudioHostError):
                return False

    def shutdown(self) -> None:
        with self._lock:
            self._stop_process()

    # The process --------------------------------------------------------------
    def _call(self, request: tuple) -> Any:
        if self.unavailable:
            raise AudioHostError(self.unavailable)
        if self._process is None:
            self._start()
        elif not self._process.is_alive():
            reason = f"the audio process ended (exit code {self._process.exitcode})"
            self._restart(reason)
            raise DeviceLost(f"{reason}; started again")
        try:
            self._conn.send(request)
            if not self._conn.poll(REQUEST_TIMEOUT_S):
                raise TimeoutError(f"no answer to {request[0]!r} in {REQUEST_TIMEOUT_S:g} s")
            status, result, events, states, stuck = self._conn.recv()
        except (EOFError, OSError, TimeoutError) as error:
            reason = f"the audio process stopped answering ({error or type(error).__name__})"
            self._restart(reason)
            raise DeviceLost(f"{reason}; started again") from None
        for side_id, device_name, duplex, latency_s in events:
            handle = self._handles.get(side_id)
            if handle is not None:
                handle.opened(device_name, duplex, latency_s)
        for side_id, (is_open, next_try_us) in states.items():
            handle = self._handles.get(side_id)
            if handle is not None:
                handle.memory.counters[OPEN] = is_open
                handle.next_try_us = next_try_us
        if stuck:
            self._restart("PortAudio would not close a stream")
        if status == "lost":
            raise DeviceLost(result + ("; the audio process was started again to let go of it" if stuck else ""))
        if status == "error":
            raise AudioHostError(result)
        return result

    def _start(self) -> None:
        self._stop_process()
        context = mp.get_context("spawn")
        conn, child_conn = context.Pipe()
        process = context.Process(target=_serve, name="tensorstage-audio", daemon=True,
                                  args=(child_conn, os.getpid()))
        try:
            process.start()
        except Exception as error:  # noqa: BLE001 - e.g. started from a daemonic process
            conn.close()
            raise AudioHostError(f"cannot start the audio process ({error}); `[audio] process = false` "
                                 f"runs the sound devices in the engine's process") from None
        finally:
            child_conn.close()
        self._process, self._conn = process, conn
        if not self._conn.poll(START_TIMEOUT_S):
            self._stop_process()
            raise AudioHostError("the audio process did not start")
        reply = self._conn.recv()
        if reply[0] == "error":
            self._stop_process()
            self.unavailable = reply[1]
            raise AudioHostError(reply[1])
        self.pid = reply[1]
        self.starts += 1

    def _restart(self, reason: str) -> None:
        """A new audio process, joined again by every side; their streams open
        on their nodes' next keep."""
        self.restart_reasons.append(reason)
        self._stop_process(polite=False)
        for handle in self._handles.values():
            handle.memory.counters[OPEN] = 0
            handle.next_try_us = 0
        try:
            self._start()
            for handle in list(self._handles.values()):
                self._conn.send(handle.request)
                if self._conn.poll(REQUEST_TIMEOUT_S) and self._conn.recv()[0] == "ok":
                    handle.joined_in = self.starts
                # Otherwise (the device is not back yet) the node's next keep joins it again.
        except Exception:  # noqa: BLE001 - the next request starts it again
            self._stop_process()

    def _stop_process(self, polite: bool = True) -> None:
        """End the audio process: asked, or (`polite` False, for a process that
        died, hangs or holds a stuck stream) killed at once, since its exit
        would wait on PortAudio."""
        if self._process is None:
            return
        try:
            if polite:
                self._conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self._process.join(2 if polite else 0)
        if self._process.is_alive():
            self._process.kill()      # PortAudio stuck in a driver does not let a process end
            self._process.join(2)
        self._conn.close()
        self._process = self._conn = None


_hosts: dict[bool, LocalHost | ProcessHost] = {}
_hosts_lock = threading.Lock()


def audio_process_restarts() -> int:
    """How often the audio process was started again (it died, stopped
    answering, or held a stuck stream): for the status stream."""
    host = _hosts.get(False)
    return len(host.restart_reasons) if isinstance(host, ProcessHost) else 0


RESTARTS = StatusFigure("audio/restarts", "i", "times the audio process was started again (it died, stopped "
                        "answering, or PortAudio got stuck in a driver)", combine="max")


def audio_process_status(audio: dict) -> tuple[StatusFigure, ...]:
    """The audio process's figure, for the nodes that use it (a patch's [audio] process)."""
    return (RESTARTS,) if audio.get("process", True) else ()


def audio_host(in_process: bool) -> LocalHost | ProcessHost:
    """The engine's one host of each kind; the audio process starts with the
    first node that joins it and ends with the engine's process."""
    with _hosts_lock:
        if in_process not in _hosts:
            _hosts[in_process] = LocalHost() if in_process else ProcessHost()
            if not in_process:
                atexit.register(_hosts[in_process].shutdown)   # type: ignore[union-attr]
        return _hosts[in_process]
