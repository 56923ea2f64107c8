"""`tensorstage install --user` under a real systemd: a user manager
(systemd --user) started for the test in a mount namespace of its own, where
/run/systemd/system marks systemd as the service manager (this machine's
PID 1 is not systemd, and the mark must not leak to the other tests). The
unit is installed, enabled and started by the command a technician runs;
systemd sees READY and the watchdog pings; a killed engine is restarted, a
hung main loop is killed by systemd's watchdog and restarted, and `tensorstage
status` reports what systemd says."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.ops import systemd
from engine.ops.crash import reports
from tests.conftest import require
from tests.ops.test_supervisor import HANGING_RUN

REPO = Path(__file__).resolve().parents[2]
MANAGER = "/lib/systemd/systemd"
# In its own mount namespace: a private /run/systemd with the mark sd_booted(3) reads.
START = "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && exec {manager} --user"


class UserManager:
    def __init__(self, root: Path) -> None:
        # The manager's environment is its units' too: runs, logs and crash reports in `state`.
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(root / "runtime"), "XDG_CONFIG_HOME": str(root / "config"),
                    "TENSORSTAGE_STATE_DIR": str(root / "state"), "HOME": str(root / "home")}
        for key in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "TENSORSTAGE_STATE_DIR", "HOME"):
            Path(self.env[key]).mkdir(mode=0o700, parents=True, exist_ok=True)
        self.env.pop("NOTIFY_SOCKET", None)
        Path("/run/systemd").mkdir(exist_ok=True)
        self.process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                         START.format(manager=MANAGER)], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """A command inside the manager's namespace (systemctl, tensorstage)."""
        return subprocess.run(["nsenter", "--mount", "--target", str(self.process.pid), *command],
                              env=self.env, capture_output=True, text=True, timeout=timeout, cwd=REPO)

    def ready(self, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            state = self.run("systemctl", "--user", "is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                return True
            time.sleep(0.2)
        return False

    def properties(self, unit: str) -> dict[str, str]:
        out = self.run("systemctl", "--user", "show", unit,
                       "--property=ActiveState,SubState,NRestarts,MainPID,Result").stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait(self, unit: str, condition, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            props = self.properties(unit)
            if condition(props):
                return props
            time.sleep(0.25)
        return self.properties(unit)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def manager(tmp_path, display):
    require(os.geteuid() == 0, "root, to start a systemd user manager in a mount namespace")
    require(Path(MANAGER).exists() and shutil.which("systemctl") is not None, "systemd (apt install systemd)")
    require(shutil.which("unshare") is not None and shutil.which("nsenter") is not None,
            "unshare and nsenter (apt install util-linux)")
    started = UserManager(tmp_path)
    if not started.ready():
        started.stop()
        pytest.skip(f"this machine cannot run a systemd user manager here: {started.process.stderr.read()[-500:]}")
    # What a graphical session gives its user units: the display.
    started.run("systemctl", "--user", "set-environment", f"DISPLAY={display}")
    yield started
    started.stop()


def test_install_starts_the_show_under_systemd_which_restarts_it_when_it_dies(manager):
    name = "tensorstage-default.service"
    installed = manager.run(sys.executable, "-m", "engine", "install", "default", "--user", timeout=240)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"enabled and started {name}" in installed.stdout
    unit = Path(manager.env["XDG_CONFIG_HOME"]) / "systemd" / "user" / name
    assert unit.exists()
    # Type=notify: "active (running)" only after the engine said READY=1.
    props = manager.properties(name)
    assert (props["ActiveState"], props["SubState"], props["NRestarts"]) == ("active", "running", "0"), props
    first = int(props["MainPID"])
    enabled = manager.run("systemctl", "--user", "is-enabled", name).stdout.strip()
    assert enabled == "enabled"

    os.kill(first, signal.SIGKILL)                      # the engine dies
    props = manager.wait(name, lambda p: p["NRestarts"] == "1" and p["SubState"] == "running"
                         and int(p["MainPID"]) not in (0, first), 120)
    assert props["NRestarts"] == "1" and props["SubState"] == "running", props
    status = manager.run(sys.executable, "-m", "engine", "status", "default")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "systemd (user): active/running since" in status.stdout and ", restarts 1" in status.stdout, status.stdout
    assert "restarts after a failure 1" in status.stdout, status.stdout       # the engine's own record agrees

    removed = manager.run(sys.executable, "-m", "engine", "uninstall", "default", "--user")
    assert removed.returncode == 0 and not unit.exists()
    assert manager.properties(name)["ActiveState"] in ("inactive", "failed")


def test_a_hung_main_loop_is_killed_by_systemds_watchdog_and_the_show_restarts(manager, tmp_path):
    # The installed unit with the run that hangs once (tests/ops/test_supervisor.py) and a 3 s watchdog.
    script = tmp_path / "hanging_run.py"
    script.write_text(HANGING_RUN)
    command = [sys.executable, str(script), str(tmp_path / "hung"), "run", "--headless", "--quiet",
               "--no-osc", "--output-dir", str(tmp_path / "out")]
    text = systemd.unit_text(REPO / "patches" / "default.toml", user=True, version=systemd.systemd_version())
    lines = [f"ExecStart={shlex.join(command)}" if line.startswith("ExecStart=")
             else "WatchdogSec=3" if line.startswith("WatchdogSec=") else line for line in text.splitlines()]
    folder = Path(manager.env["XDG_CONFIG_HOME"]) / "systemd" / "user"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tensorstage-hang.service").write_text("\n".join(lines) + "\n")
    assert manager.run("systemctl", "--user", "daemon-reload").returncode == 0
    started = manager.run("systemctl", "--user", "start", "tensorstage-hang.service", timeout=240)
    assert started.returncode == 0, started.stderr
    # It hangs after 3 s; 3 s without a ping and systemd aborts it, then starts it again.
    unit = "tensorstage-hang.service"
    props = manager.wait(unit, lambda p: p["Result"] == "watchdog", 90)
    assert props["Result"] == "watchdog", props
    props = manager.wait(unit, lambda p: p["NRestarts"] == "1" and p["SubState"] == "running", 90)
    assert (props["NRestarts"], props["SubState"]) == ("1", "running"), props
    assert (tmp_path / "hung").read_text() == "hung"
    # The second run plays 2 s and ends cleanly (Restart=on-failure: no third);
    # it filed the stacks faulthandler wrote when systemd's SIGABRT came.
    props = manager.wait(unit, lambda p: p["ActiveState"] == "inactive", 60)
    assert props["ActiveState"] == "inactive" and props["Result"] == "success", props
    [report] = reports(Path(manager.env["TENSORSTAGE_STATE_DIR"]))
    text = report.read_text()
    assert "Aborted" in text and "hanging_step" in text, text[:2000]
