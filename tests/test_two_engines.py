"""Two engines, one show (README, "Two engines, one show"): the shipped
patches patches/two_engines/stage_a.toml and stage_b.toml run as two
`tensorstage run` processes on this machine, standing in for two machines.
They share one Link tempo, follow one controller (one OSC sender with both
engines as targets), and engine A's painted output is engine B's input over
NDI. Each engine's OSCQuery names it after its patch."""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from tests.conftest import require

REPO = Path(__file__).resolve().parents[1]


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Listener(threading.Thread):
    """What one engine sends: the newest value of each address."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.latest: dict[str, list] = {}
        self.done = False

    def run(self) -> None:
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except OSError:
                continue
            if data.startswith(b"/"):
                message = OscMessage(data)
                self.latest[message.address] = list(message.params)


def query(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
        return json.loads(reply.read())


def until(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if condition():
                return True
        except (OSError, KeyError, IndexError, ValueError):
            pass
        time.sleep(0.1)
    return False


def test_two_engines_share_a_tempo_a_controller_and_a_picture(tmp_path):
    for module, extra in (("cyndilib", "ndi"), ("aalink", "link")):
        require(importlib.util.find_spec(module) is not None, f"{module} (pip install 'tensorstage[{extra}]')")
    engines, listeners, ports = {}, {}, {}
    try:
        for name in ("stage_a", "stage_b"):
            listeners[name] = Listener()
            listeners[name].start()
            ports[name] = free_port(socket.SOCK_STREAM)
            engines[name] = subprocess.Popen(
                [sys.executable, "-m", "engine", "run", str(REPO / "patches" / "two_engines" / f"{name}.toml"),
                 "--headless", "--quiet", "--duration", "60", "--output-dir", str(tmp_path / name),
                 "--osc-in", f"127.0.0.1:{ports[name]}", "--osc-out", f"127.0.0.1:{listeners[name].port}"],
                cwd=REPO, stderr=subprocess.PIPE, text=True)
        a, b = listeners["stage_a"].latest, listeners["stage_b"].latest

        # Each engine's namespace under its own name.
        assert until(lambda: query(ports["stage_b"], "/?HOST_INFO")["NAME"] == "tensorstage stage_b", 30)
        assert query(ports["stage_a"], "/?HOST_INFO")["NAME"] == "tensorstage stage_a"
        # One Link session.
        assert until(lambda: a["/link/peers"][0] >= 1 and b["/link/peers"][0] >= 1, 20), (a, b)
        # A's picture is B's input: B takes NDI frames at the camera's rate.
        assert until(lambda: b["/tensorstage/ndi/frames_in"][0] > 60, 30), b.get("/tensorstage/ndi/frames_in")
        assert b["/tensorstage/from_a/fps"][0] > 20
        assert a["/tensorstage/ndi/receivers"][0] >= 1

        # One controller, both engines as its targets.
        controller = [SimpleUDPClient("127.0.0.1", ports[name]) for name in ("stage_a", "stage_b")]
        for target in controller:
            target.send_message("/scene/recall", "dark")
        # The tempo proposed through A alone is the session's: B follows.
        controller[0].send_message("/link/tempo", 128.0)
        assert until(lambda: abs(b["/link/tempo"][0] - 128.0) < 0.01 and abs(a["/link/tempo"][0] - 128.0) < 0.01,
                     10), (a.get("/link/tempo"), b.get("/link/tempo"))
        # The scene landed on the next bar (at most 4 beats, ~2 s) and glided there.
        for name in ("stage_a", "stage_b"):
            assert until(lambda: abs(query(ports[name], "/look/brightness?VALUE")["VALUE"][0] + 0.4) < 0.01, 8), name
    finally:
        for listener in listeners.values():
            listener.done = True
        errors = {}
        for name, run in engines.items():
            run.send_signal(signal.SIGINT)
            try:
                errors[name] = run.communicate(timeout=20)[1]
            except subprocess.TimeoutExpired:
                run.kill()
                errors[name] = run.communicate()[1]
    for name, run in engines.items():
        assert run.returncode == 0, errors[name][-3000:]
