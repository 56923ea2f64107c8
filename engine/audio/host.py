"""Where the sound devices run: in a process of their own (the default), or in
the engine's process (`[audio] process = false`).

The audio callbacks are Python and need a GIL. In the engine's process they
share it with video, models and OSC, and a thread that holds it for a few
milliseconds makes the speakers miss a period. In the audio process (spawned:
numpy and sounddevice, never TensorFlow) the callbacks have a GIL to
themselves; the nodes stay in the engine and meet their callbacks in shared
memory (engine/audio/feed.py): the speakers write their ring there, the
microphone reads its ring and capture stamps from there. Opening, reopening and
closing streams are requests to the audio process, sent by the nodes' workers
as named messages (engine/audio/messages.py; the process's side is
engine/audio/process.py).
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
from engine.audio.feed import OPEN, SideMemory
from engine.audio.messages import ERROR, LOST, OK, Join, Keep, Leave, Ready, Reinitialize, Reply, Stop
from engine.audio.process import feed_for, serve
from engine.audio.stream import DeviceLost, Side
from engine.clock import now_us
from engine.node import StatusFigure

REQUEST_TIMEOUT_S = 10.0     # opening a stream takes well under a second; a driver that hangs, longer
START_TIMEOUT_S = 20.0


class AudioHostError(RuntimeError):
    """PortAudio's error, as the audio process told it."""


class StreamHandle:
    """A node's side of a device stream, wherever that stream runs."""

    def __init__(self, host: "LocalHost | ProcessHost", side_id: int, memory: SideMemory,
                 on_opened: Callable[[str, bool], None], request: Join | None) -> None:
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
        handle = StreamHandle(self, next(self._ids), memory, on_opened, None)
        feed = feed_for(direction, memory, latency_s)

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
            request = Join(side_id, direction, device_option, rate, block, channels, latency_s, duplex,
                           memory.name, memory.frames, realtime)
            handle = StreamHandle(self, side_id, memory, on_opened, request)
            self._handles[side_id] = handle
            try:
                self._call(request)
                handle.joined_in = self.starts
            except BaseException:
                self._handles.pop(side_id, None)
                try:
                    self._call(Leave(side_id))   # in case a new audio process joined it meanwhile
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
            self._call(Keep(handle.side_id, retry_s, now))

    def leave(self, handle: StreamHandle) -> None:
        with self._lock:
            if self._handles.pop(handle.side_id, None) is None or handle.joined_in != self.starts:
                return
            try:
                self._call(Leave(handle.side_id))
            except (DeviceLost, AudioHostError):
                pass                       # the process went away: nothing left to leave

    def reinitialize(self) -> bool:
        with self._lock:
            try:
                return bool(self._call(Reinitialize()))
            except (DeviceLost, AudioHostError):
                return False

    def shutdown(self) -> None:
        """End the audio process; at exit, never wait long on a node's request
        in flight (it may be waiting for a process that will not start)."""
        if self._lock.acquire(timeout=1.0):
            try:
                self._stop_process()
            finally:
                self._lock.release()
        elif self._process is not None:
            self._process.kill()

    # The process --------------------------------------------------------------
    def _call(self, request: Any) -> Any:
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
                raise TimeoutError(f"no answer to {type(request).__name__} in {REQUEST_TIMEOUT_S:g} s")
            reply: Reply = self._conn.recv()
        except (EOFError, OSError, TimeoutError) as error:
            reason = f"the audio process stopped answering ({error or type(error).__name__})"
            self._restart(reason)
            raise DeviceLost(f"{reason}; started again") from None
        for opened in reply.opened:
            handle = self._handles.get(opened.side_id)
            if handle is not None:
                handle.opened(opened.device_name, opened.duplex, opened.latency_s)
        for side_id, state in reply.states.items():
            handle = self._handles.get(side_id)
            if handle is not None:
                handle.memory.counters[OPEN] = int(state.is_open)
                handle.next_try_us = state.next_try_us
        if reply.stuck:
            self._restart("PortAudio would not close a stream")
        if reply.status == LOST:
            raise DeviceLost(reply.result + ("; the audio process was started again to let go of it"
                                             if reply.stuck else ""))
        if reply.status == ERROR:
            raise AudioHostError(reply.result)
        return reply.result

    def _start(self) -> None:
        self._stop_process()
        context = mp.get_context("spawn")
        conn, child_conn = context.Pipe()
        process = context.Process(target=serve, name="tensorstage-audio", daemon=True,
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
        if not isinstance(reply, Ready):
            self._stop_process()
            self.unavailable = reply.error
            raise AudioHostError(reply.error)
        self.pid = reply.pid
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
                if self._conn.poll(REQUEST_TIMEOUT_S) and self._conn.recv().status == OK:
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
                self._conn.send(Stop())
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
