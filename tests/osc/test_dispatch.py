"""Hostile input never takes control away (the hardening issue's cases, as
regression tests), in the server's thread and in its own process: after each,
a plain parameter write still applies."""

import os
import signal
import socket

import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.osc.bridge import OscBridge, OscConfig
from engine.osc.dispatch import MAX_ADDRESSES, OTHER, OscDispatcher
from engine.osc.sender import encode
from engine.params import MAX_SCENES, FLOAT, ParamSpec, ParamStore
from engine.patch import parse_patch
from tests.conftest import free_udp_port, wait_for
from tests.osc.test_bridge import PATCH


@pytest.fixture(params=[False, True], ids=["thread", "process"])
def running(request):
    yield from engine_with_osc(request.param)


@pytest.fixture
def running_process():
    yield from engine_with_osc(True)


def engine_with_osc(process: bool):
    port = free_udp_port()
    eng = Engine(parse_patch(PATCH), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=process))
    bridge.start()
    eng.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield eng, bridge, lambda *message: client.sendto(encode(*message), ("127.0.0.1", port))
    client.close()
    eng.stop()
    bridge.stop()


def still_in_control(eng, send, value):
    send("/color/saturation", value)
    return wait_for(eng, lambda: eng.store.target("color/saturation") == value)


@pytest.mark.parametrize("hostile", [
    ("/scene/recall", "grey", float("inf")),        # an OverflowError once stopped every later message
    ("/scene/recall", "grey", float("nan")),
    ("/scene/recall", "grey", -1.0),
    ("/color/" + "*" * 40 + "z", 0.5),              # the regex matcher backtracked for ever
    ("/color/" + "*a" * 60 + "z", 0.5),
    ("/color/saturation", float("inf")),
    ("/color/saturation", "x" * 5000),
    ("/" + "a" * 2000, 1.0),
])
def test_a_hostile_message_is_counted_and_control_stays(running, hostile):
    eng, bridge, send = running
    send(*hostile)
    assert still_in_control(eng, send, 0.25), eng.events.messages()
    assert wait_for(eng, lambda: bridge.server.ignored >= 1), eng.events.messages()
    assert eng.store.target("color/saturation") == 0.25


def test_a_killed_osc_process_is_started_again_and_control_comes_back(running_process):
    eng, bridge, send = running_process
    assert still_in_control(eng, send, 0.5)
    os.kill(bridge.server.process.pid, signal.SIGKILL)
    assert wait_for(eng, lambda: bridge.server.restarts == 1, 10), eng.events.messages()
    assert still_in_control(eng, send, 0.75), eng.events.messages()
    assert any("started again" in m for m in eng.events.messages("info"))


def test_counters_and_scenes_do_not_grow_without_bound():
    store = ParamStore()
    store.define({"color/saturation": ParamSpec(FLOAT, 1.0, "sat", min=0.0, max=2.0, exposed=True)})
    events = EventLog()
    dispatcher = OscDispatcher(store, events)
    for i in range(MAX_ADDRESSES * 4):
        dispatcher.apply(f"/unknown/{i}", [1.0])
    assert len(dispatcher.by_address) == MAX_ADDRESSES + 1           # and OTHER
    assert dispatcher.by_address[OTHER]["unknown"] == MAX_ADDRESSES * 3
    for i in range(MAX_SCENES + 20):
        dispatcher.apply("/scene/store", [f"scene{i}"])
    assert len(store.scenes) == MAX_SCENES
    assert dispatcher.counts["bad_args"] == 20
    assert len(events._last_printed) <= 1100          # the event log's rate-limit table is bounded too


COMMANDED = """
[nodes.ticks]
type = "test_ticks"

[nodes.spot]
type = "test_commanded"
inputs.value = "ticks.value"
"""


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_node_declares_its_own_osc_addresses_and_gets_checked_arguments(process):
    from engine.osc.address_space import address_space
    from tests.nodes_for_tests import RECEIVED
    patch = parse_patch(COMMANDED)
    listed = {a.address: a for a in address_space(patch)}
    assert listed["/spot/mark"].type_tag == "f[s]" and listed["/spot/palette"].type_tag == "fff..."
    port = free_udp_port()
    eng = Engine(patch, events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=process))
    bridge.start()
    eng.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for message in (("/spot/mark", 0.5, "door"), ("/spot/mark", 0.25), ("/spot/mark", 2.0),
                        ("/spot/mark", float("nan")), ("/spot/mark",), ("/spot/palette", 1.0, 0.0, 0.0, 0.0, 0.0, 1.0),
                        ("/spot/palette", 1.0, 0.0)):
            client.sendto(encode(*message), ("127.0.0.1", port))
        assert wait_for(eng, lambda: len(RECEIVED.get("spot/commands", [])) >= 3 and bridge.server.ignored >= 4)
        assert RECEIVED["spot/commands"] == [("mark", (0.5, "door")), ("mark", (0.25,)),
                                            ("palette", (1.0, 0.0, 0.0, 0.0, 0.0, 1.0))]
        assert bridge.server.by_address["/spot/mark"]["bad_args"] == 3
        assert bridge.server.by_address["/spot/palette"]["bad_args"] == 1
    finally:
        client.close()
        eng.stop()
        bridge.stop()
