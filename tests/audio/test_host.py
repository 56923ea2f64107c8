"""The sound devices in their own process, on real PipeWire: PortAudio is
loaded there and not in the engine's process; a killed audio process is started
again and the sound comes back while the engine runs on."""

import os
import signal
import time
from pathlib import Path

import numpy as np

from engine.events import EventLog
from engine.graph import Engine
from engine.patch import parse_patch
from tests.audio.test_loopback import PATCH, run_engine
from tests.conftest import in_child_process
from tests.nodes_for_tests import RECEIVED


def libraries(pid: int | str) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def play_then_kill_the_audio_process() -> dict:
    import ai_edge_litert.interpreter  # noqa: F401 - the engine's process has a model runtime loaded

    from engine.audio.host import audio_host
    eng = Engine(parse_patch(PATCH), events=EventLog())
    eng.start()
    eng.store.set("tone/level_db", -12.0, fade_s=0)
    heard = RECEIVED.setdefault("heard", [])

    def loud_since(index: int) -> bool:
        return any(np.abs(p.value).max() > 0.05 for p, _ in heard[index:])

    host = audio_host(in_process=False)
    try:
        before = run_engine(eng, 5.0, until=lambda: loud_since(0))
        first_pid = host.pid
        maps = {"engine": libraries("self"), "audio": libraries(first_pid)}
        os.kill(first_pid, signal.SIGKILL)
        killed = time.monotonic()
        killed_at = len(heard)
        recovered = run_engine(eng, 15.0, until=lambda: loud_since(killed_at + 1))
        recovery_s = time.monotonic() - killed
        still_running = not eng.stop_requested.is_set()
    finally:
        eng.stop()
    return {"before": before, "recovered": recovered, "recovery_s": recovery_s, "still_running": still_running,
            "first_pid": first_pid, "pid": host.pid, "starts": host.starts, "reasons": host.restart_reasons,
            "engine_pid": os.getpid(), "messages": eng.events.messages(),
            "portaudio": {k: "libportaudio" in v for k, v in maps.items()},
            "litert": {k: "litert" in v or "tensorflow" in v for k, v in maps.items()}}


def test_the_audio_process_holds_portaudio_and_comes_back_when_killed(pipewire):
    result = in_child_process(play_then_kill_the_audio_process)
    assert result["before"], result["messages"]
    assert result["portaudio"] == {"engine": False, "audio": True}       # PortAudio lives over there
    assert result["litert"] == {"engine": True, "audio": False}          # and the models never do
    assert result["first_pid"] not in (0, result["engine_pid"])
    assert result["recovered"], result
    print(f"sound back {result['recovery_s']:.2f} s after the audio process was killed; {result['messages']}")
    assert result["recovery_s"] < 5.0, result
    assert result["still_running"]
    assert result["starts"] == 2 and result["pid"] != result["first_pid"]
    assert result["reasons"][0].startswith("the audio process ")   # ended, or stopped answering
    assert any("the audio process" in m for m in result["messages"])   # and a node said so
