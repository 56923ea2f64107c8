import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pythonosc.osc_message import OscMessage

from engine.ops.health import ProcessFigures, disk_free_mb
from tests.conftest import free_udp_port

REPO = Path(__file__).resolve().parents[2]


def test_process_figures_are_read_from_the_running_process(tmp_path):
    figures = ProcessFigures(tmp_path / "not" / "made" / "yet").read()
    assert 10 < figures["rss_mb"] < 24_000
    opened = [open(__file__) for _ in range(5)]     # noqa: SIM115 - counted, then closed
    try:
        assert ProcessFigures(tmp_path).read()["fds"] >= figures["fds"] + 5
    finally:
        for f in opened:
            f.close()
    assert figures["threads"] >= 1 and figures["children"] >= 0
    assert 0 < figures["disk_free_mb"] == round(disk_free_mb(tmp_path), 1) or figures["disk_free_mb"] > 0


def test_health_and_the_monitoring_heartbeat_of_a_running_engine(tmp_path):
    """No send_to in the patch: the heartbeat still reaches the monitoring
    port, and GET /health on the OSCQuery port answers."""
    monitor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    monitor.bind(("127.0.0.1", 0))
    monitor.settimeout(1.0)
    patch = tmp_path / "show.toml"
    patch.write_text((REPO / "patches" / "default.toml").read_text()
                     + f'\n[osc]\nheartbeat_to = "127.0.0.1:{monitor.getsockname()[1]}"\n')
    port = free_udp_port()
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", str(patch), "--headless", "--quiet",
                            "--osc-in", str(port), "--output-dir", str(tmp_path / "out"),
                            "--state-dir", str(tmp_path / "state")], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        heard: dict[str, tuple] = {}
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "/tensorstage/restarts" not in heard:
            try:
                message = OscMessage(monitor.recv(65536))
            except socket.timeout:
                continue
            heard[message.address] = tuple(message.params)
        assert heard["/tensorstage/rss_mb"][0] > 10 and heard["/tensorstage/children"][0] >= 1   # the OSC process
        assert heard["/tensorstage/restarts"] == (0,) and heard["/tensorstage/patch"] == ("default",)
        answer = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
                    answer = json.loads(reply.read())
                    break
            except urllib.error.HTTPError as error:        # 503 while a sink has no frames yet
                answer = json.loads(error.read())
                time.sleep(0.5)
        assert answer is not None and answer["up"], answer
        assert answer["fps"]["screen"] > 10 and set(answer["fps"]) == {"screen"}
        assert answer["uptime_s"] > 0 and answer["disk_free_mb"] > 0 and answer["restarts"] == 0
        assert answer["fds"] > 0 and answer["threads"] > 1 and answer["last_error"] is None
    finally:
        run.terminate()
        run.communicate(timeout=20)
        monitor.close()
