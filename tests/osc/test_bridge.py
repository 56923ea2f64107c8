"""OSC around a running engine: streams and heartbeat out, parameters in."""

import json
import socket
import time
import urllib.request

import pytest
from pythonosc.osc_packet import OscPacket

from engine.events import EventLog
from engine.graph import Engine
from engine.osc.bridge import OscBridge, OscConfig, osc_config
from engine.patch import parse_patch
from tests.conftest import free_udp_port

PATCH = """
# Frames with something to measure.
[nodes.pattern]
type = "test_pattern"
width = 160
height = 120

# Motion and colour as control streams.
[nodes.analysis]
type = "video_analysis"
inputs.video = "color.video"

# A parameter to drive.
[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"
params.saturation = { default = 1.0, max = 2.0 }

[scenes.grey]
color.saturation = 0.0
"""


class Listener:
    """A plain UDP socket standing in for TouchDesigner: collects what arrives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.messages: list[tuple[str, list]] = []
        self.datagrams = 0

    def collect(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            self.datagrams += 1
            self.messages += [(m.message.address, list(m.message.params)) for m in OscPacket(data).messages]

    def addresses(self) -> set[str]:
        return {address for address, _ in self.messages}


@pytest.fixture
def osc_engine():
    made = []

    def start(config: OscConfig, text: str = PATCH):
        eng = Engine(parse_patch(text), events=EventLog())
        bridge = OscBridge(eng, config)
        bridge.start()
        eng.start()
        made.append((eng, bridge))
        return eng, bridge

    yield start
    for eng, bridge in made:
        eng.stop()
        bridge.stop()


def run(eng: Engine, listener: Listener, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        eng.step(0.01)
        listener.collect(0.01)


def test_streams_heartbeat_and_parameters(osc_engine):
    listener = Listener()
    in_port = free_udp_port()
    eng, bridge = osc_engine(OscConfig(listen=("127.0.0.1", in_port), send_to=[("127.0.0.1", listener.port)],
                                       heartbeat_s=0.2, query=False))
    run(eng, listener, 1.0)
    addresses = listener.addresses()
    assert {"/analysis/motion", "/analysis/red", "/analysis/brightness"} <= addresses
    motion = [args for address, args in listener.messages if address == "/analysis/motion"]
    assert len(motion) > 15 and all(len(a) == 1 and isinstance(a[0], float) for a in motion)  # one number
    alive = [args[0] for address, args in listener.messages if address == "/tensorstage/alive"]
    assert len(alive) >= 3 and alive == sorted(alive)
    assert ("/tensorstage/patch", ["patch"]) in listener.messages
    assert "/tensorstage/pattern/fps" in addresses

    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    from engine.osc.sender import encode
    client.sendto(encode("/color/saturation", 0.5), ("127.0.0.1", in_port))
    client.sendto(encode("/scene/recall", "grey", 0.0), ("127.0.0.1", in_port))
    run(eng, listener, 0.5)
    assert eng.store.target("color/saturation") == 0.0
    assert ("/tensorstage/scene", ["grey"]) in listener.messages
    assert bridge.server.counts["applied"] == 2


def test_bundle_mode_sends_bundles(osc_engine):
    listener = Listener()
    eng, _ = osc_engine(OscConfig(listen=None, send_to=[("127.0.0.1", listener.port)], bundle=True,
                                  heartbeat_s=0.2))
    run(eng, listener, 1.0)
    assert "/analysis/motion" in listener.addresses()
    assert listener.datagrams < len(listener.messages) / 3      # many messages per datagram


def test_streams_can_be_chosen_by_pattern(osc_engine):
    listener = Listener()
    text = PATCH + '\n[osc]\nstreams = ["analysis.motion"]\n'
    eng, _ = osc_engine(osc_config(parse_patch(text), send_to=[f"127.0.0.1:{listener.port}"], off=True), text)
    run(eng, listener, 0.6)
    streams = {a for a in listener.addresses() if not a.startswith("/tensorstage")}
    assert streams == {"/analysis/motion"}


def test_a_taken_port_is_reported_and_the_show_goes_on(osc_engine):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    eng, bridge = osc_engine(OscConfig(listen=("127.0.0.1", blocker.getsockname()[1]), query=False))
    time.sleep(0.2)
    assert bridge.server is None
    [message] = eng.events.messages("error")
    assert message.startswith(f"[osc] cannot listen on 127.0.0.1:{blocker.getsockname()[1]} (")
    assert message.endswith("); running without OSC in")


def test_oscquery_serves_the_namespace(osc_engine):
    port = free_udp_port()
    eng, bridge = osc_engine(OscConfig(listen=("127.0.0.1", port)))
    eng.store.set("color/saturation", 1.5, fade_s=0)

    def get(path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{bridge.query.port}{path}", timeout=5) as reply:
            return json.loads(reply.read())

    root = get("/")
    saturation = root["CONTENTS"]["color"]["CONTENTS"]["saturation"]
    assert saturation["TYPE"] == "f" and saturation["VALUE"] == [1.5] and saturation["ACCESS"] == 3
    assert saturation["RANGE"] == [{"MIN": 0.0, "MAX": 2.0}]
    assert root["CONTENTS"]["analysis"]["CONTENTS"]["motion"]["ACCESS"] == 1
    assert get("/color/saturation?VALUE") == {"VALUE": [1.5]}
    assert get("/?HOST_INFO")["OSC_PORT"] == port
    assert get("/tensorstage/patch?VALUE") == {"VALUE": [eng.patch.name]}     # status figures, read now
    alive = root["CONTENTS"]["tensorstage"]["CONTENTS"]["alive"]
    assert alive["ACCESS"] == 1 and alive["VALUE"][0] >= 0
    with pytest.raises(urllib.error.HTTPError) as error:
        get("/nope")
    assert error.value.code == 404


def test_default_config_listens_on_loopback_only():
    config = osc_config(parse_patch(PATCH))
    assert config.listen == ("127.0.0.1", 9000)
    assert osc_config(parse_patch(PATCH), listen="0.0.0.0:9100").listen == ("0.0.0.0", 9100)
    assert osc_config(parse_patch(PATCH), listen="9100").listen == ("127.0.0.1", 9100)


def test_garbage_does_not_disturb_the_running_engine(osc_engine):
    import random
    port = free_udp_port()
    eng, bridge = osc_engine(OscConfig(listen=("127.0.0.1", port), query=False))
    listener = Listener()
    run(eng, listener, 1.0)
    before = eng.snapshot()["color"]["frames_in"]
    started = time.monotonic()
    rng = random.Random(3)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(5000):
        client.sendto(rng.randbytes(rng.randrange(1, 120)), ("127.0.0.1", port))
        if i % 250 == 0:
            eng.step(0.001)
    run(eng, listener, 1.0)
    elapsed = time.monotonic() - started
    figures = eng.snapshot()
    assert bridge.server.counts["datagrams"] >= 4900                # read, not lost in a full buffer
    assert figures["color"]["errors"] == 0 and figures["analysis"]["errors"] == 0
    fps = (figures["color"]["frames_in"] - before) / elapsed
    assert fps > 24                                                 # the 30 fps stream kept its rate
    assert eng.store.target("color/saturation") == 1.0              # and no parameter moved


def test_oscquery_honours_the_allow_list_and_bounds_slow_clients(tmp_path):
    import urllib.error
    import urllib.request

    from engine.osc.address_space import address_space
    from engine.osc.query import MAX_CLIENTS, OscQueryServer
    from engine.params import ParamStore

    patch = parse_patch(PATCH)
    store = ParamStore()
    store.define(patch.param_specs())
    addresses = address_space(patch)
    refusing = OscQueryServer(lambda: addresses, store, "127.0.0.1", 0, 9000, allow=("10.9.8.7",))
    refusing.start()
    try:
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{refusing.port}/", timeout=5).read()
        assert refusing.refused == 1
    finally:
        refusing.stop()

    server = OscQueryServer(lambda: addresses, store, "127.0.0.1", 0, 9000, client_timeout_s=0.5)
    server.start()
    silent = []
    try:
        for _ in range(MAX_CLIENTS + 4):                    # clients that connect and say nothing
            silent.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        deadline = time.monotonic() + 3
        while server.refused < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.refused >= 4, (server.refused, server._slots._value)   # past the bound: closed
        time.sleep(1.0)                                      # the silent ones time out and free their slots
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/color/saturation?VALUE", timeout=5) as r:
            assert json.loads(r.read()) == {"VALUE": [1.0]}
        first = server.tree()
        assert server.tree() is first                        # cached while nothing changed
        store.set("color/saturation", 0.5)
        assert server.tree() is not first and server.tree()["CONTENTS"]["color"]["CONTENTS"][
            "saturation"]["VALUE"] == [0.5]
    finally:
        for sock in silent:
            sock.close()
        server.stop()
