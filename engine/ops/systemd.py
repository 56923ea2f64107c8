"""`tensorstage install`: a systemd unit that starts a patch at boot, restarts
it on failure with a pause, and kills it when its watchdog pings stop.

The unit is plain text from the template below (no library writes unit
files); `systemd-analyze verify` checks it, in the tests and, where systemd
is there, before it is enabled. Without systemd, an XDG autostart entry runs
`tensorstage run --supervise`, the engine's own supervisor, instead.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.ops.state import safe_name
from engine.ops.supervisor import START_TIMEOUT_S, WATCHDOG_S


@dataclass(frozen=True)
class Target:
    user: bool              # a user unit (the performer's graphical session) or a system unit

    @property
    def unit_dir(self) -> Path:
        if self.user:
            base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
            return Path(base) / "systemd" / "user"
        return Path("/etc/systemd/system")

    def systemctl(self, *args: str) -> list[str]:
        return ["systemctl", *(["--user"] if self.user else []), *args]


def unit_name(patch: Path) -> str:
    return f"tensorstage-{safe_name(patch.stem)}.service"


def systemd_version() -> int:
    try:
        out = subprocess.run(["systemctl", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    found = re.match(r"systemd (\d+)", out)
    return int(found.group(1)) if found else 0


def systemd_running() -> bool:
    """systemd is the service manager of this machine (sd_booted(3))."""
    return Path("/run/systemd/system").is_dir()


def unit_text(patch: Path, user: bool, kiosk: bool = True, display: str | None = None,
              run_as: str | None = None, version: int | None = None, extra_args: tuple[str, ...] = ()) -> str:
    """The unit for one patch. `display` pins DISPLAY for a system unit on a
    bare X server (a user unit takes the graphical session's own)."""
    command = [sys.executable, "-m", "engine", "run", str(patch.resolve()), *(["--kiosk"] if kiosk else []),
               "--quiet", *extra_args]
    version = systemd_version() if version is None else version
    lines = [
        "# Written by `tensorstage install`; `tensorstage uninstall` removes it.",
        "[Unit]",
        f"Description=tensorstage: {patch.stem}",
        "After=graphical-session.target pipewire.service" if user else
        "After=graphical.target sound.target network-online.target",
        "Wants=network-online.target" if not user else "PartOf=graphical-session.target",
        "StartLimitIntervalSec=0",             # never give up restarting a show
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={shlex.join(command)}",
        f"WorkingDirectory={patch.resolve().parent}",
        "Restart=on-failure",
        "RestartSec=2",
    ]
    if version >= 254:                           # a growing pause between restarts, as the supervisor's
        lines += ["RestartSteps=5", "RestartMaxDelaySec=60"]
    lines += [
        f"WatchdogSec={WATCHDOG_S:g}",
        f"TimeoutStartSec={START_TIMEOUT_S:g}",
        "TimeoutStopSec=15",
        "Environment=PYTHONUNBUFFERED=1",
    ]
    if not user:
        # The show runs as a person, not root: their PipeWire and their X display.
        lines.append("StateDirectory=tensorstage")
        if run_as:
            import pwd
            uid = pwd.getpwnam(run_as).pw_uid
            lines += [f"User={run_as}", f"Environment=XDG_RUNTIME_DIR=/run/user/{uid}"]
        if display:
            lines.append(f"Environment=DISPLAY={display}")
    lines += ["", "[Install]", "WantedBy=graphical-session.target" if user else "WantedBy=graphical.target", ""]
    return "\n".join(lines)


def verify(path: Path, user: bool) -> tuple[bool, str]:
    """`systemd-analyze verify`: (fine, what it said). Fine with nothing said."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return True, "systemd-analyze is not installed; the unit was not verified"
    env = dict(os.environ)
    if user and not Path(env.get("XDG_RUNTIME_DIR") or "/nonexistent").is_dir():
        import tempfile     # verifying a user unit outside a login session (an installer's shell, CI)
        env["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="tensorstage-verify-")
    result = subprocess.run([tool, *(["--user"] if user else []), "verify", str(path)], capture_output=True,
                            text=True, timeout=60, env=env)
    said = (result.stdout + result.stderr).strip()
    return result.returncode == 0 and not said, said


def autostart_entry(patch: Path, kiosk: bool = True) -> str:
    """An XDG autostart entry (desktop sessions without systemd): the engine's own supervisor."""
    command = [sys.executable, "-m", "engine", "run", "--supervise", str(patch.resolve()),
               *(["--kiosk"] if kiosk else []), "--quiet"]
    return "\n".join(["[Desktop Entry]", "Type=Application", f"Name=tensorstage: {patch.stem}",
                      f"Exec={shlex.join(command)}", "X-GNOME-Autostart-enabled=true", "NoDisplay=true", ""])


def autostart_path(patch: Path) -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / f"tensorstage-{safe_name(patch.stem)}.desktop"


def unit_properties(name: str, user: bool) -> dict[str, str]:
    """What systemd says of an installed unit (empty where it cannot say)."""
    if not systemd_running():
        return {}
    try:
        result = subprocess.run(Target(user).systemctl(
            "show", name, "--property=ActiveState,SubState,NRestarts,ActiveEnterTimestamp,MainPID,Result"),
            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
