"""`tensorstage install`: the unit verified by systemd's own checker; the
watchdog pings of a real run heard on a notify socket."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.ops import systemd
from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def systemd_analyze() -> None:
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze (apt install systemd)")


@pytest.mark.parametrize("user", [True, False])
@pytest.mark.parametrize("version", [252, 256])
def test_the_unit_passes_systemd_analyze_verify(user, version, tmp_path, systemd_analyze):
    patch = REPO / "patches" / "default.toml"
    text = systemd.unit_text(patch, user=user, display=None if user else ":0",
                             run_as=None if user else "root", version=version)
    unit = tmp_path / systemd.unit_name(patch)
    unit.write_text(text)
    if version >= 254 and systemd.systemd_version() < 254:
        assert "RestartSteps=5" in text       # this machine's systemd does not know the key yet
        return
    fine, said = systemd.verify(unit, user)
    assert fine, said
    assert "Type=notify" in text and "WatchdogSec=30" in text and "Restart=on-failure" in text
    assert f"ExecStart={sys.executable} -m engine run {patch} --kiosk --quiet" in text


def test_verify_catches_a_broken_unit(tmp_path, systemd_analyze):
    unit = tmp_path / "tensorstage-broken.service"
    unit.write_text(systemd.unit_text(REPO / "patches" / "default.toml", user=False, run_as="root", version=252)
                    .replace(sys.executable, "/nonexistent/python"))
    fine, said = systemd.verify(unit, user=False)
    assert not fine and "/nonexistent/python" in said


def test_install_and_uninstall_write_and_remove_the_unit(tmp_path, systemd_analyze):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "engine", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=60)
    made = cli("install", "style_live", "--user", "--unit-dir", str(tmp_path))
    assert made.returncode == 0, made.stdout + made.stderr
    unit = tmp_path / "tensorstage-style_live.service"
    assert unit.exists() and "style_live.toml --kiosk" in unit.read_text()
    broken = cli("install", "nosuchpatch", "--user", "--unit-dir", str(tmp_path))
    assert broken.returncode == 1 and "nosuchpatch" in broken.stderr
    gone = cli("uninstall", "style_live", "--user", "--unit-dir", str(tmp_path))
    assert gone.returncode == 0 and not unit.exists()


def test_a_real_run_tells_the_service_manager_it_is_ready_and_pings_the_watchdog(tmp_path):
    address = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(1.0)
    env = {**__import__("os").environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", "--headless", "--quiet", "--no-osc",
                            "--duration", "4", "--output-dir", str(tmp_path / "out"),
                            "--state-dir", str(tmp_path / "state")], cwd=REPO, env=env,
                           stderr=subprocess.PIPE, text=True)
    heard = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run.poll() is None or not heard:
        try:
            heard.append(listener.recv(4096).decode())
        except socket.timeout:
            if run.poll() is not None:
                break
    run.communicate(timeout=20)
    listener.close()
    assert heard[0].startswith("READY=1")
    pings = [m for m in heard if m.startswith("WATCHDOG=1")]
    assert len(pings) >= 5                               # every 0.5 s for 4 s
    assert "screen" in pings[-1] and "fps" in pings[-1]  # STATUS= for systemctl status
    assert heard[-1].startswith("STOPPING=1")
