"""What we send, checked against golden bytes and against liblo's own parser."""

import socket
import subprocess
import time
from pathlib import Path

from engine.osc.sender import OscSender, encode, parse_target
from tests.conftest import free_udp_port

GOLDEN = Path(__file__).parent / "golden"


def test_encoding_matches_liblo_byte_for_byte():
    assert encode("/color/saturation", 0.25) == (GOLDEN / "float.bin").read_bytes()
    assert encode("/mirror/horizontal", 1) == (GOLDEN / "int.bin").read_bytes()
    assert encode("/color/saturation", "hello") == (GOLDEN / "string.bin").read_bytes()
    assert encode("/scene/recall", "grey", 2.5) == (GOLDEN / "scene_recall.bin").read_bytes()


def test_oscdump_reads_what_we_send(liblo):
    port = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        sender = OscSender([("127.0.0.1", port)])
        sender.start()
        sender.send("/analysis/motion", 0.125)
        sender.send("/tensorstage/patch", "default")
        sender.send("/tensorstage/errors", 3)
        bundled = OscSender([("127.0.0.1", port)], bundle=True)
        bundled.start()
        bundled.send_now([("/tensorstage/alive", (1.5,)), ("/tensorstage/dropped", (7,))])
        time.sleep(0.5)
    finally:
        dump.terminate()
        out, _ = dump.communicate(timeout=5)
    lines = [" ".join(line.split()[-3:]) for line in out.splitlines() if line.strip()]
    assert "/analysis/motion f 0.125000" in lines
    assert '/tensorstage/patch s "default"' in lines
    assert "/tensorstage/errors i 3" in lines
    assert "/tensorstage/alive f 1.500000" in lines and "/tensorstage/dropped i 7" in lines


def test_a_missing_peer_is_counted_not_raised():
    port = free_udp_port()     # nobody listens: Linux answers with ICMP, the next send fails
    sender = OscSender([("127.0.0.1", port)])
    sender.start()
    for _ in range(5):
        sender.send("/x", 1.0)
        time.sleep(0.01)
    assert sender.sent + sender.send_errors == 5


def test_parse_target():
    assert parse_target("9000") == ("127.0.0.1", 9000)
    assert parse_target("10.0.0.5:7000") == ("10.0.0.5", 7000)
    for bad in ("host:", "host:99999", "x"):
        try:
            parse_target(bad)
        except ValueError as error:
            assert bad in str(error)
        else:
            raise AssertionError(bad)


def test_a_vector_stream_goes_out_as_one_message_of_n_floats():
    import numpy as np
    from pythonosc.osc_message import OscMessage

    from engine.osc.sender import StreamTap
    from engine.packet import Packet

    port = free_udp_port()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", port))
    receiver.settimeout(5)
    sender = OscSender([("127.0.0.1", port)])
    sender.start()
    try:
        StreamTap("/timbre/features", sender).put(Packet(np.array([220.0, -12.5], np.float32), 1))
        StreamTap("/analysis/motion", sender).put(Packet(0.25, 2))
        got = {}
        while len(got) < 2:
            message = OscMessage(receiver.recv(4096))
            got[message.address] = message.params
    finally:
        sender.stop()
        receiver.close()
    assert got == {"/timbre/features": [220.0, -12.5], "/analysis/motion": [0.25]}


def test_a_failing_status_does_not_end_the_heartbeat():
    from engine.osc.sender import Heartbeat

    calls, errors = [], []

    def status():
        calls.append(1)
        if len(calls) <= 3:
            raise ZeroDivisionError("a figure divided by zero")
        return [("/tensorstage/alive", (1.0,))]

    sender = OscSender([("127.0.0.1", free_udp_port())])
    beat = Heartbeat([sender], status, period_s=0.02, on_error=errors.append)
    beat.start()
    try:
        deadline = time.monotonic() + 5
        while beat.beats < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        beat.stop()
    assert beat.beats >= 3 and beat.failures == 3
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0]      # said once, with its traceback
