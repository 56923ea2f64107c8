"""The OSC server against datagrams from liblo, garbage, bundles and strangers."""

import random
import socket
import struct
import time
from pathlib import Path

import pytest

from engine.events import EventLog
from engine.osc.server import OscServer
from engine.params import BOOL, FLOAT, ParamSpec, ParamStore

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> bytes:
    return (GOLDEN / f"{name}.bin").read_bytes()


@pytest.fixture
def store():
    store = ParamStore()
    store.define({
        "color/saturation": ParamSpec(FLOAT, 1.0, "sat", min=0.0, max=2.0, exposed=True),
        "color/contrast": ParamSpec(FLOAT, 1.0, "con", min=0.0, max=3.0, exposed=True),
        "color/brightness": ParamSpec(FLOAT, 0.0, "bri", min=-1.0, max=1.0, exposed=True),
        "color/hidden": ParamSpec(FLOAT, 0.5, "not exposed", min=0.0, max=1.0),
        "mirror/horizontal": ParamSpec(BOOL, False, "mirror", exposed=True),
        "screen/blackout": ParamSpec(BOOL, False, "black", exposed=True),
    })
    store.scenes["grey"] = {"color/saturation": 0.0}
    return store


@pytest.fixture
def server(store):
    events = EventLog()
    server = OscServer(store, events, "127.0.0.1", 0)
    yield server
    server.stop()


def test_golden_datagrams_from_liblo_set_parameters(server, store):
    server.handle_datagram(golden("float"))
    assert store.target("color/saturation") == 0.25
    server.handle_datagram(golden("int"))
    assert store.target("mirror/horizontal") is True
    server.handle_datagram(golden("true"))
    assert store.target("screen/blackout") is True
    server.handle_datagram(golden("scene_recall"))
    assert store.target("color/saturation") == 0.0
    assert server.counts["applied"] == 4 and server.ignored == 0


def test_wrong_arguments_are_ignored_and_counted_per_address(server, store):
    server.handle_datagram(golden("string"))
    server.handle_datagram(golden("two_floats"))
    assert store.target("color/saturation") == 1.0
    assert server.by_address["/color/saturation"]["bad_args"] == 2
    assert server.events.messages("osc") == [
        "[/color/saturation] expected a number, got the string 'hello'; ignored"]  # once per address


def test_unknown_and_unexposed_addresses_are_ignored(server, store):
    server.apply("/color/satur", [0.5])
    server.apply("/color/hidden", [0.1])
    assert store.target("color/hidden") == 0.5
    assert server.counts["unknown"] == 2


def test_out_of_range_is_clamped_applied_and_counted(server, store):
    server.apply("/color/saturation", [7.0])
    assert store.target("color/saturation") == 2.0
    assert server.by_address["/color/saturation"]["clamped"] == 1


def test_address_patterns_reach_every_match(server, store):
    server.apply("/color/{contrast,brightness}", [0.5])
    assert store.target("color/contrast") == 0.5 and store.target("color/brightness") == 0.5
    assert store.target("color/saturation") == 1.0
    server.apply("/color/*", [0.25])
    assert store.target("color/saturation") == 0.25
    assert store.target("color/hidden") == 0.5            # patterns reach exposed parameters only


def bundle(timetag: bytes, *messages: bytes) -> bytes:
    """An OSC 1.0 bundle, assembled by hand from the spec (not by the code under test)."""
    out = b"#bundle\x00" + timetag
    for message in messages:
        out += struct.pack(">i", len(message)) + message
    return out


def ntp(seconds_from_now: float) -> bytes:
    t = time.time() + seconds_from_now + 2208988800  # NTP epoch is 1900
    return struct.pack(">II", int(t), int((t % 1) * 2**32))


def test_bundle_timetags_are_honoured(server, store):
    server.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.sendto(bundle(b"\x00\x00\x00\x00\x00\x00\x00\x01", golden("int")), (server.host, server.port))
    client.sendto(bundle(ntp(0.4), golden("float")), (server.host, server.port))
    time.sleep(0.2)
    assert store.target("mirror/horizontal") is True          # immediately
    assert store.target("color/saturation") == 1.0            # not yet
    time.sleep(0.5)
    assert store.target("color/saturation") == 0.25           # at its time
    assert server.counts["scheduled"] == 1


def test_thousands_of_malformed_datagrams_are_survived_and_counted(server, store):
    server.start()
    rng = random.Random(7)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    valid = golden("float")
    garbage = 0
    for i in range(5000):
        kind = i % 4
        if kind == 0:
            data = bytes([rng.choice(b"abcXYZ\x00\xff\x80")]) + rng.randbytes(rng.randrange(0, 200))
        elif kind == 1:
            data = valid[: rng.randrange(1, len(valid) - 1)]               # truncated
        elif kind == 2:
            data = valid.replace(b",f", b",\xff")                          # bad type tag, non-UTF8
        else:
            data = b"#bundle\x00" + rng.randbytes(rng.randrange(0, 40))    # broken bundle
        client.sendto(data, (server.host, server.port))
        garbage += 1
        if i % 500 == 0:
            client.sendto(valid, (server.host, server.port))
        if i % 200 == 0:
            time.sleep(0.002)  # let the reader keep up; the point is survival, not loss
    deadline = time.monotonic() + 5
    while server.counts["datagrams"] < garbage + 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    counts = server.counts
    assert server._thread.is_alive()
    assert counts["datagrams"] == garbage + 10
    # Every datagram is accounted for (each parsed one here holds one message) ...
    assert counts["malformed"] + counts["empty"] + counts["messages"] == counts["datagrams"], counts
    assert counts["messages"] == counts["applied"] + counts["bad_args"] + counts["unknown"], counts
    assert counts["malformed"] > 0.8 * garbage
    # ... the valid ones applied (python-osc pads some truncated floats, so a few
    # truncated copies of the valid message apply too), and the value stayed sane.
    assert counts["applied"] >= 10
    assert 0.0 <= store.target("color/saturation") <= 2.0


def test_the_allow_list_drops_other_senders(store):
    events = EventLog()
    server = OscServer(store, events, "127.0.0.1", 0, allow=("127.0.0.1",))
    server.start()
    try:
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.2", 0))                       # another loopback address
        stranger.sendto(golden("float"), (server.host, server.port))
        friend = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        friend.sendto(golden("int"), (server.host, server.port))
        deadline = time.monotonic() + 3
        while server.counts["datagrams"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.counts["refused"] == 1
        assert store.target("color/saturation") == 1.0
        assert store.target("mirror/horizontal") is True
        assert events.messages("osc") == ["[from 127.0.0.2] sender is not on the allow-list; ignored"]
    finally:
        server.stop()


def test_the_server_never_replies(server):
    server.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(0.5)
    client.sendto(golden("float"), (server.host, server.port))
    client.sendto(b"garbage", (server.host, server.port))
    with pytest.raises(socket.timeout):
        client.recvfrom(65536)
