"""The sound devices in their own process, on real PipeWire: PortAudio is
loaded there and not in the engine's process, its callback threads run at
real-time priority where the system allows it, and a killed audio process is
started again and the sound comes back while the engine runs on."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

from engine.audio.process import REALTIME_PRIORITY
from engine.clock import now_us
from engine.events import EventLog
from engine.graph import Engine
from engine.osc.bridge import OscBridge, OscConfig
from engine.patch import parse_patch
from tests.audio.test_loopback import PATCH, run_engine
from tests.conftest import in_child_process
from tests.nodes_for_tests import RECEIVED


def libraries(pid: int | str) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def realtime_threads(pid: int) -> int:
    """Threads of a process at SCHED_FIFO, the audio process's priority."""
    count = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        if os.sched_getscheduler(int(tid)) == os.SCHED_FIFO and \
                os.sched_getparam(int(tid)).sched_priority == REALTIME_PRIORITY:
            count += 1
    return count


def realtime_allowed() -> bool:
    allowed = []

    def probe() -> None:     # on a thread of its own, which then ends
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
            allowed.append(True)
        except OSError:
            allowed.append(False)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return allowed[0]


def play_then_kill_the_audio_process() -> dict:
    import ai_edge_litert.interpreter  # noqa: F401 - the engine's process has a model runtime loaded

    from engine.audio.host import audio_host
    eng = Engine(parse_patch(PATCH), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=None, query=False))
    eng.start()
    eng.store.set("tone/level_db", -12.0, fade_s=0)
    heard = RECEIVED.setdefault("heard", [])

    def loud_since(captured_us: int) -> bool:
        """Sound captured after that time (blocks already in the ring at the kill do not count)."""
        return any(p.ts_us > captured_us and np.abs(p.value).max() > 0.05 for p, _ in heard)

    host = audio_host(in_process=False)
    try:
        before = run_engine(eng, 5.0, until=lambda: loud_since(0))
        first_pid = host.pid
        maps = {"engine": libraries("self"), "audio": libraries(first_pid)}
        realtime = realtime_threads(first_pid)
        os.kill(first_pid, signal.SIGKILL)
        killed, killed_us = time.monotonic(), now_us()
        recovered = run_engine(eng, 15.0, until=lambda: loud_since(killed_us))
        recovery_s = time.monotonic() - killed
        realtime_after = realtime_threads(host.pid) if recovered else 0
        still_running = not eng.stop_requested.is_set()
        status = dict(bridge.status_messages())
    finally:
        eng.stop()
    return {"before": before, "recovered": recovered, "recovery_s": recovery_s, "still_running": still_running,
            "first_pid": first_pid, "pid": host.pid, "starts": host.starts, "reasons": host.restart_reasons,
            "engine_pid": os.getpid(), "messages": eng.events.messages(), "realtime_threads": realtime,
            "realtime_threads_after": realtime_after, "restarts": status["/tensorstage/audio/restarts"],
            "realtime_allowed": realtime_allowed(),
            "portaudio": {k: "libportaudio" in v for k, v in maps.items()},
            "litert": {k: "litert" in v or "tensorflow" in v for k, v in maps.items()}}


def test_the_audio_process_holds_portaudio_and_comes_back_when_killed(pipewire):
    result = in_child_process(play_then_kill_the_audio_process)
    assert result["before"], result["messages"]
    assert result["portaudio"] == {"engine": False, "audio": True}       # PortAudio lives over there
    assert result["litert"] == {"engine": True, "audio": False}          # and the models never do
    assert result["first_pid"] not in (0, result["engine_pid"])
    # PortAudio's two callback threads (speakers, microphone), where the system allows real-time.
    assert result["realtime_threads"] == (2 if result["realtime_allowed"] else 0), result
    assert result["recovered"], result
    print(f"sound back {result['recovery_s']:.2f} s after the audio process was killed; {result['messages']}")
    assert result["recovery_s"] < 5.0, result
    assert result["still_running"]
    assert result["starts"] == 2 and result["pid"] != result["first_pid"]
    assert result["restarts"] == (1,)                                     # and the status stream says so
    assert result["realtime_threads_after"] == result["realtime_threads"]   # the new process's too
    assert result["reasons"][0].startswith("the audio process ")   # ended, or stopped answering
    assert any("the audio process" in m for m in result["messages"])   # and a node said so
