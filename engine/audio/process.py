"""The audio process itself: spawned by `ProcessHost` (engine/audio/host.py),
it imports numpy, sounddevice and the engine's audio modules, never
TensorFlow. It joins, keeps and leaves streams on the engine's requests
(engine/audio/messages.py); the callbacks run on PortAudio's threads meanwhile
and meet the nodes in shared memory (engine/audio/feed.py). It ends when
asked, when the engine's end of the pipe closes, or when the engine is gone.
"""

from __future__ import annotations

import os
from typing import Any

from engine.audio import device, stream
from engine.audio.feed import InputFeed, OutputFeed, SideMemory
from engine.audio.messages import (ERROR, LOST, OK, Join, Keep, Leave, Opened, Reinitialize, Ready, Reply,
                                   SideState, Stop, Unavailable)
from engine.audio.stream import INPUT, DeviceLost, Side

REALTIME_PRIORITY = 20       # SCHED_FIFO: above all ordinary work, below the sound server's own threads (88 here)
NICE = -10                   # where real-time is not allowed, a higher share of the CPU


def feed_for(direction: str, memory: SideMemory, buffer_s: float) -> InputFeed | OutputFeed:
    return InputFeed(memory) if direction == INPUT else OutputFeed(memory, buffer_s)


def raise_priority() -> str:
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


def serve(conn: Any, parent: int) -> None:
    """The audio process's main loop (the target `ProcessHost` spawns)."""
    from engine.realtime import tune_for_real_time
    try:
        device.sounddevice()
    except OSError as error:
        conn.send(Unavailable(str(error)))
        return
    conn.send(Ready(os.getpid()))
    tune_for_real_time()
    sides: dict[int, tuple[SideMemory, Side, stream.DeviceStream]] = {}
    opened: list[Opened] = []     # streams opened while answering a request: told in its reply
    while os.getppid() == parent:
        if not conn.poll(0.5):
            continue
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if isinstance(request, Stop):
            break
        try:
            reply = Reply(OK, handle(request, sides, opened))
        except DeviceLost as error:
            reply = Reply(LOST, str(error))
        except Exception as error:  # noqa: BLE001 - PortAudio's errors, told to the node that asked
            plain = type(error).__name__ == "PortAudioError"
            reply = Reply(ERROR, str(error) if plain else f"{type(error).__name__}: {error}")
        states = {side_id: SideState(joined.stream is not None, joined.next_try_us)
                  for side_id, (_, _, joined) in sides.items()}
        conn.send(Reply(reply.status, reply.result, list(opened), states, device.stuck_streams))
        opened.clear()
    for side_id in list(sides):
        handle(Leave(side_id), sides, opened)
    if device.stuck_streams:
        os._exit(0)       # the interpreter's exit would wait for ever on PortAudio's stuck thread


def handle(request: Any, sides: dict, opened_now: list[Opened]) -> Any:
    """One request of the engine's."""
    if isinstance(request, Join):
        return _join(request, sides, opened_now)
    if isinstance(request, Keep):
        sides[request.side_id][2].keep(request.retry_s, request.now)
        return None
    if isinstance(request, Leave):
        memory, side, joined = sides.pop(request.side_id)
        stream.leave(joined, side)
        memory.close()
        return None
    if isinstance(request, Reinitialize):
        return device.reinitialize()
    raise ValueError(f"unknown request {request!r}")


def _join(request: Join, sides: dict, opened_now: list[Opened]) -> None:
    memory = SideMemory(request.frames, request.channels, name=request.memory_name)
    feed = feed_for(request.direction, memory, request.latency_s)
    raised: list[str] = [] if request.realtime else ["not asked"]

    def opened(device_name: str, is_duplex: bool, side_latency_s: float) -> None:
        feed.opened()
        if request.realtime:
            raised.clear()        # a new stream has a new thread
        opened_now.append(Opened(request.side_id, device_name, is_duplex, side_latency_s))

    def callback(buffer: Any, frames: int, time: Any, status: Any) -> None:
        if not raised:            # once, on PortAudio's thread
            raised.append(raise_priority())
        feed.callback(buffer, frames, time, status)

    side = Side(request.channels, request.latency_s, callback, opened)
    try:
        joined = stream.join(request.direction, request.device, request.rate, request.block, side, request.duplex)
    except Exception:
        memory.close()
        raise
    sides[request.side_id] = (memory, side, joined)
