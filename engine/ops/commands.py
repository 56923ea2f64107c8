"""The installation commands: `install`, `uninstall`, `status` (fast: no
TensorFlow, no engine start)."""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
import time
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    install = commands.add_parser("install", help="start a patch at boot and restart it when it fails or hangs "
                                                  "(a systemd unit, or an autostart entry without systemd)")
    install.add_argument("patch", help="patch file, or the name of a bundled patch")
    install.add_argument("--user", action="store_true",
                         help="a user unit, started with the graphical session (else a system unit: needs root)")
    install.add_argument("--no-kiosk", action="store_true", help="a normal window instead of kiosk mode")
    install.add_argument("--display", help="DISPLAY for a system unit on a bare X server (default :0)")
    install.add_argument("--run-as", help="the user a system unit runs as (default: the one who ran sudo)")
    install.add_argument("--autostart", action="store_true",
                         help="write an XDG autostart entry running the engine's own supervisor instead")
    install.add_argument("--unit-dir", type=Path, help="write the unit here and enable nothing (to inspect it)")
    install.set_defaults(func=_install)

    uninstall = commands.add_parser("uninstall", help="stop and remove what install wrote")
    uninstall.add_argument("patch")
    uninstall.add_argument("--user", action="store_true")
    uninstall.add_argument("--unit-dir", type=Path)
    uninstall.set_defaults(func=_uninstall)

    status = commands.add_parser("status", help="what runs, since when, restarts, last errors and crash reports")
    status.add_argument("patch", nargs="?", help="one patch (default: every patch with a run record)")
    status.add_argument("--state-dir", type=Path, metavar="DIR")
    status.add_argument("--errors", type=int, default=5, help="last error lines shown per patch (default 5)")
    status.set_defaults(func=_status)


def _install(args: argparse.Namespace) -> int:
    from engine.ops import systemd
    from engine.patch import PatchError, load_patch, resolve_patch
    path = resolve_patch(args.patch).resolve()
    try:
        load_patch(path)
    except PatchError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    kiosk = not args.no_kiosk
    if args.autostart:
        entry = systemd.autostart_path(path)
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(systemd.autostart_entry(path, kiosk))
        print(f"wrote {entry}: the desktop session starts {path.name} under the engine's supervisor at login")
        return 0
    target = systemd.Target(args.user)
    folder = args.unit_dir or target.unit_dir
    run_as = None if args.user else (args.run_as or os.environ.get("SUDO_USER") or getpass.getuser())
    text = systemd.unit_text(path, args.user, kiosk, display=None if args.user else (args.display or ":0"),
                             run_as=run_as)
    name = systemd.unit_name(path)
    unit = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        unit.write_text(text)
    except PermissionError:
        print(f"cannot write {unit}: a system unit needs root (sudo), or use --user", file=sys.stderr)
        return 1
    fine, said = systemd.verify(unit, args.user)
    print(f"wrote {unit}" + ("" if fine else f"\nsystemd-analyze verify said:\n{said}"))
    if not fine:
        return 1
    if args.unit_dir is not None:
        return 0
    if not systemd.systemd_running():
        print("systemd is not this machine's service manager: nothing enabled. Use "
              f"`tensorstage install {args.patch} --autostart` (a desktop session) or run "
              f"`tensorstage run --supervise {args.patch} --kiosk` from the machine's own start scripts.")
        return 0
    for step in (("daemon-reload",), ("enable", "--now", name)):
        result = subprocess.run(target.systemctl(*step), capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{' '.join(target.systemctl(*step))} failed: {result.stderr.strip()}", file=sys.stderr)
            return 1
    print(f"enabled and started {name}" + (
        "; for it to start at boot without anyone logging in: loginctl enable-linger" if args.user else ""))
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    from engine.ops import systemd
    from engine.patch import resolve_patch
    path = resolve_patch(args.patch)
    target = systemd.Target(args.user)
    name = systemd.unit_name(path)
    unit = (args.unit_dir or target.unit_dir) / name
    removed = []
    if args.unit_dir is None and systemd.systemd_running() and unit.exists():
        subprocess.run(target.systemctl("disable", "--now", name), capture_output=True)
    for candidate in (unit, systemd.autostart_path(path)):
        if candidate.exists():
            candidate.unlink()
            removed.append(str(candidate))
    if args.unit_dir is None and systemd.systemd_running() and removed:
        subprocess.run(target.systemctl("daemon-reload"), capture_output=True)
    print("removed " + ", ".join(removed) if removed else f"nothing installed for {path.stem}")
    return 0 if removed else 1


def _status(args: argparse.Namespace) -> int:
    from engine.ops import systemd
    from engine.ops.crash import reports
    from engine.ops.logs import last_lines
    from engine.ops.state import RunRecord, safe_name, state_dir
    folder = state_dir(args.state_dir)
    names = [Path(args.patch).stem] if args.patch else sorted(p.stem for p in (folder / "runs").glob("*.json"))
    if not names:
        print(f"no runs recorded in {folder}")
        return 1
    crashes = reports(folder)
    for name in names:
        record = RunRecord(folder, name).read()
        running = record.get("running")
        alive = bool(running) and _alive(running.get("pid", 0))
        if running and alive:
            state = f"running since {running['since']} (pid {running['pid']})"
        elif running:
            state = f"not running: pid {running['pid']} (since {running['since']}) ended without stopping"
        else:
            end = record.get("last_end") or {}
            state = f"stopped {end.get('time') or ''} ({end.get('reason', 'never ran')})".replace("  ", " ")
        print(f"{name}: {state}")
        print(f"  starts {record.get('starts', 0)}, restarts after a failure {record.get('unclean_ends', 0)}, "
              f"first start {record.get('first_start', '-')}")
        for user in (True, False):
            unit = systemd.unit_properties(systemd.unit_name(Path(name)), user)
            if unit.get("ActiveState") and unit.get("ActiveState") != "inactive" or unit.get("NRestarts", "0") != "0":
                print(f"  systemd ({'user' if user else 'system'}): {unit.get('ActiveState')}/{unit.get('SubState')}"
                      f" since {unit.get('ActiveEnterTimestamp') or '-'}, restarts {unit.get('NRestarts', '?')}")
        log = folder / "logs" / f"{safe_name(name)}.log"
        errors = last_lines(log, "ERROR", args.errors) if log.exists() else []
        print(f"  log {log}" + ("" if log.exists() else " (none yet)"))
        for line in errors:
            print(f"    {line[:300]}")
        mine = [c for c in crashes if c.name.endswith(f"-{safe_name(name)}.txt")]
        if mine:
            print(f"  crash reports: {len(mine)}, newest {mine[-1]} "
                  f"({time.strftime('%Y-%m-%d %H:%M', time.localtime(mine[-1].stat().st_mtime))})")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0
