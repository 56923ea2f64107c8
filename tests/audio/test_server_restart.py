"""The sound server dies mid-run and comes back: audio recovers by itself within
5 seconds, and the engine never restarts."""

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.patch import parse_patch
from engine.audio.host import audio_host
from tests.audio.test_host import realtime_allowed, realtime_threads
from tests.audio.test_loopback import DESIGN_IDS, DESIGNS, patch_text, run_engine
from tests.conftest import in_child_process
from tests.nodes_for_tests import RECEIVED

SERVICES = Path(__file__).resolve().parents[2] / ".ci" / "services"


def restart_pipewire() -> float:
    """Kill the PipeWire stack and start it again as .ci/services does; when it is back."""
    names = ("pipewire-pulse", "wireplumber", "pipewire")
    for name in names:
        subprocess.run(["pkill", "-x", name], check=False)
    time.sleep(1.0)
    # Gone for sure, or .ci/services would take a dying server for a live one.
    for attempt in range(80):   # (a zombie would match for ever: give up after 8 s)
        if not any(subprocess.run(["pgrep", "-x", n], capture_output=True).returncode == 0 for n in names):
            break
        if attempt == 40:
            for name in names:
                subprocess.run(["pkill", "-9", "-x", name], check=False)
        time.sleep(0.1)
    subprocess.run(["bash", "-c", f". {SERVICES}"], check=True, timeout=60, capture_output=True)
    return time.monotonic()


def lose_the_server(duplex: bool, process: bool) -> dict:
    eng = Engine(parse_patch(patch_text(duplex, process)), events=EventLog())
    eng.start()
    eng.store.set("tone/level_db", -12.0, fade_s=0)
    heard = RECEIVED.setdefault("heard", [])

    def run(seconds: float, until=None) -> bool:
        return run_engine(eng, seconds, until)

    def loud_since(index: int) -> bool:
        return any(np.abs(p.value).max() > 0.05 for p, _ in heard[index:])

    try:
        run(2.0)
        before = loud_since(0)
        killed_at = len(heard)
        back = restart_pipewire()
        resumed_at = len(heard)
        recovered = run(15.0, until=lambda: loud_since(resumed_at))
        recovery_s = time.monotonic() - back
        # Reopened streams have new PortAudio threads: at real-time priority too, where allowed.
        realtime = realtime_threads(audio_host(in_process=False).pid) if process and recovered else None
        still_running = not eng.stop_requested.is_set()
    finally:
        eng.stop()
    return {"before": before, "recovered": recovered, "recovery_s": recovery_s, "still_running": still_running,
            "messages": eng.events.messages(), "blocks_while_down": resumed_at - killed_at,
            "realtime_threads": realtime, "realtime_allowed": realtime_allowed()}


@pytest.mark.parametrize("duplex,process", DESIGNS, ids=DESIGN_IDS)
def test_audio_recovers_after_the_sound_server_restarts(pipewire, duplex, process):
    result = in_child_process(lose_the_server, duplex, process)
    assert result["before"], result["messages"]
    assert result["recovered"], result["messages"]
    print(f"audio back {result['recovery_s']:.2f} s after the server; {result['messages']}")
    assert result["recovery_s"] < 5.0, result
    assert result["still_running"]
    assert any("reopening" in m or "could not open" in m or "stopped" in m for m in result["messages"])
    if process:   # one PortAudio thread for a duplex stream, one per stream otherwise
        assert result["realtime_threads"] == ((1 if duplex else 2) if result["realtime_allowed"] else 0), result
