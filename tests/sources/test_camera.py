import socket
import subprocess
import time


from engine import timecode
from engine.harness import NodeHarness


def test_no_camera_at_start_falls_back_to_a_test_pattern_and_says_so():
    with NodeHarness("camera", options={"device": 97, "width": 320, "height": 240}, name="cam") as node:
        packet = node.step()["video"]
    assert packet.value.shape == (240, 320, 3)
    assert timecode.read(packet.value) is not None
    assert node.events.messages() == [
        "[cam] no camera 97 (/dev/video97 does not exist): showing a generated test pattern instead; "
        "looking for the camera every 5 s"]


def test_without_fallback_a_missing_camera_is_an_error_the_engine_retries():
    node = NodeHarness("camera", options={"device": 97, "fallback": "none"}, name="cam")
    node.node.stopping.set()  # no backoff sleep in the test
    node.step()
    assert node.stats["errors"] == 1
    assert node.events.messages("error") == [
        "[cam] could not open (will retry): CameraLost: no camera 97 (/dev/video97 does not exist)"]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_reads_a_real_paced_stream(ffmpeg):
    port = _free_udp_port()
    stream = subprocess.Popen(
        [ffmpeg, "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
         "-c:v", "mpeg2video", "-q:v", "5", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"])
    try:
        with NodeHarness("camera", options={"device": f"udp://127.0.0.1:{port}?timeout=5000000"},
                         name="cam") as node:
            assert node.runner.opened, node.events.messages()
            start = time.monotonic()
            packets = [node.step().get("video") for _ in range(45)]
            elapsed = time.monotonic() - start
    finally:
        stream.terminate()
        stream.wait(5)
    frames = [p for p in packets if p is not None]
    assert len(frames) >= 40
    assert frames[-1].value.shape == (240, 320, 3)
    assert 0.8 < elapsed < 4.0     # paced by the stream (30 fps), not read as fast as possible
    assert any("camera 'udp://127.0.0.1" in m and "open: 320x240" in m for m in node.events.messages())
