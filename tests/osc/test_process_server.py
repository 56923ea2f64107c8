"""The OSC server in its own process behaves as the in-thread one: values,
patterns, scenes, swaps, garbage counted, and a flood coalesced."""

import random
import socket
import time

import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.osc.bridge import OscBridge, OscConfig
from engine.osc.sender import encode
from engine.patch import parse_patch
from tests.conftest import free_udp_port, wait_for
from tests.osc.test_bridge import PATCH


@pytest.fixture
def running():
    port = free_udp_port()
    eng = Engine(parse_patch(PATCH), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=True))
    bridge.start()
    eng.start()
    yield eng, bridge, port
    eng.stop()
    bridge.stop()


def test_values_patterns_scenes_and_bad_input(running):
    eng, bridge, port = running
    assert bridge.server.process.is_alive() and bridge.server.port == port
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.sendto(encode("/color/saturation", 1.5), ("127.0.0.1", port))
    assert wait_for(eng, lambda: eng.store.target("color/saturation") == 1.5)
    client.sendto(encode("/color/saturation", 9.0), ("127.0.0.1", port))          # clamped to 2
    assert wait_for(eng, lambda: eng.store.target("color/saturation") == 2.0)
    client.sendto(encode("/scene/recall", "grey", 0.0), ("127.0.0.1", port))
    assert wait_for(eng, lambda: eng.store.target("color/saturation") == 0.0)
    assert bridge.scene == "grey"
    client.sendto(encode("/color/nosuch", 1.0), ("127.0.0.1", port))
    client.sendto(encode("/color/saturation", "loud"), ("127.0.0.1", port))
    client.sendto(b"\x00garbage", ("127.0.0.1", port))
    assert wait_for(eng, lambda: bridge.server.counts["malformed"] == 1 and bridge.server.counts["unknown"] == 1
                     and bridge.server.counts["bad_args"] == 1)
    assert bridge.server.counts["clamped"] == 1 and bridge.server.ignored == 3
    assert any("unknown address" in m for m in eng.events.messages("osc"))


def test_a_flood_is_coalesced_and_the_last_value_wins(running):
    eng, bridge, port = running
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rng = random.Random(0)
    garbage = 0
    for _ in range(5000):
        client.sendto(encode("/color/saturation", rng.random()), ("127.0.0.1", port))
        if rng.random() < 0.2:
            client.sendto(b"\x00" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))),
                          ("127.0.0.1", port))
            garbage += 1
    client.sendto(encode("/color/saturation", 1.25), ("127.0.0.1", port))
    assert wait_for(eng, lambda: eng.store.target("color/saturation") == 1.25, 10)
    assert wait_for(eng, lambda: bridge.server.counts["datagrams"] == 5001 + garbage, 10)
    counts = bridge.server.counts
    assert counts["applied"] == 5001 and counts["malformed"] == garbage     # every datagram accounted for
    frames = eng.runners["color"].snapshot()["frames_out"]
    wait_for(eng, lambda: False, 0.5)
    assert eng.runners["color"].snapshot()["frames_out"] > frames + 8        # the video went on


def test_a_killed_engine_leaves_no_osc_process_holding_its_port(tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    port = free_udp_port()
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", "--headless", "--no-reload",
                            "--output-dir", str(tmp_path), "--osc-in", f"127.0.0.1:{port}"],
                           cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        listening = False
        while time.monotonic() < deadline and not listening:
            line = run.stderr.readline()
            listening = f"listening for OSC on 127.0.0.1:{port}" in line
        assert listening
    finally:
        run.send_signal(signal.SIGKILL)      # a crash: nothing gets to clean up
        run.wait(10)
    deadline = time.monotonic() + 5
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", port))
            break
        except OSError:
            assert time.monotonic() < deadline, "the OSC process outlived its engine"
            time.sleep(0.1)
        finally:
            probe.close()
