"""Crash reports: what died, where, with which patch and versions, and how
the show looked just before, in `<state>/crashes/` (the newest `KEEP`).

Three ways to die are covered: an exception that ends the run or a thread
(the hooks below), and a fatal signal in native code (TensorFlow, LiteRT,
PortAudio), which Python cannot report itself: faulthandler writes the
stacks into a file, and the next start turns that file into a report.
"""

from __future__ import annotations

import faulthandler
import json
import os
import platform
import sys
import threading
import traceback
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from engine.ops.logs import LOG
from engine.ops.state import safe_name, wall_clock

KEEP = 20
_PACKAGES = ("tensorstage", "numpy", "opencv-python", "sounddevice", "python-osc", "ai-edge-litert", "tensorflow",
             "keras")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


class CrashReporter:
    def __init__(self, folder: Path, patch_name: str, patch_path: str,
                 last_status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.folder = folder / "crashes"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.patch_name, self.patch_path = patch_name, patch_path
        self.last_status = last_status
        self.faults = self.folder / f"fatal-signal-{safe_name(patch_name)}.txt"
        self._faults_file = None
        self._previous_hooks: tuple = ()

    def install(self) -> None:
        self.collect_fatal_signal()
        self._faults_file = open(self.faults, "w")  # noqa: SIM115 - open for the whole run
        faulthandler.enable(self._faults_file, all_threads=True)
        self._previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = lambda kind, error, tb: self.write("the engine died", kind, error, tb)
        threading.excepthook = lambda args: self.write(
            f"thread {args.thread.name if args.thread else '?'} died", args.exc_type, args.exc_value,
            args.exc_traceback)

    def uninstall(self) -> None:
        if self._previous_hooks:
            sys.excepthook, threading.excepthook = self._previous_hooks
        if self._faults_file is not None:
            faulthandler.disable()
            self._faults_file.close()
            self._faults_file = None
            if self.faults.exists() and self.faults.stat().st_size == 0:
                self.faults.unlink()

    def collect_fatal_signal(self) -> Path | None:
        """The previous run died of a fatal signal if it left stacks behind."""
        try:
            stacks = self.faults.read_text(errors="replace")
        except OSError:
            return None
        self.faults.unlink()
        if not stacks.strip():
            return None
        return self._save("the previous run died of a fatal signal (found at the next start)", stacks,
                          with_status=False)

    def write(self, what: str, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> Path:
        text = "".join(traceback.format_exception(kind, error, tb)) if kind else "(no traceback)"
        return self._save(what, text)

    def _save(self, what: str, stacks: str, with_status: bool = True) -> Path:
        status: Any = None
        if with_status and self.last_status is not None:
            try:
                status = self.last_status()
            except Exception as problem:  # noqa: BLE001 - the report matters more than its status part
                status = f"(the status could not be read: {type(problem).__name__}: {problem})"
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")   # UTC: sorts across DST changes
        path = self.folder / f"{stamp}-{safe_name(self.patch_name)}.txt"
        body = [f"tensorstage crash report: {what}", f"time: {wall_clock()}", f"pid: {os.getpid()}",
                f"patch: {self.patch_path}", "", "versions:"]
        body += [f"  {name}: {version}" for name, version in versions().items()]
        body += ["", "what died:", stacks.rstrip(), ""]
        if status is not None:
            body += ["last status:", json.dumps(status, indent=2, default=str)]
        path.write_text("\n".join(body) + "\n")
        LOG.error("%s; crash report: %s", what, path)
        self._prune()
        return path

    def _prune(self) -> None:
        reports = sorted(p for p in self.folder.glob("*.txt") if not p.name.startswith("fatal-signal-"))
        for old in reports[:-KEEP]:
            old.unlink(missing_ok=True)


def reports(folder: Path) -> list[Path]:
    """Crash reports, newest last."""
    crashes = folder / "crashes"
    return sorted(p for p in crashes.glob("*.txt") if not p.name.startswith("fatal-signal-")) \
        if crashes.exists() else []
