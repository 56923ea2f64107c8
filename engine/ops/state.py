"""Where an installation keeps what outlives a run: logs, crash reports and
the run record (`tensorstage status` reads them, with or without systemd)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def state_dir(explicit: Path | None = None) -> Path:
    """systemd's StateDirectory= (STATE_DIRECTORY) for a system unit, then
    TENSORSTAGE_STATE_DIR, then the XDG state folder of the user."""
    if explicit is not None:
        chosen = Path(explicit)
    elif os.environ.get("STATE_DIRECTORY"):
        chosen = Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    elif os.environ.get("TENSORSTAGE_STATE_DIR"):
        chosen = Path(os.environ["TENSORSTAGE_STATE_DIR"])
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        chosen = Path(base) / "tensorstage"
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def safe_name(name: str) -> str:
    """A patch name as a file name (runs of two patches keep their own files)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return cleaned or "patch"


def wall_clock(seconds: float | None = None) -> str:
    """Local time with its offset, to the millisecond (what a log line starts with)."""
    return datetime.fromtimestamp(time.time() if seconds is None else seconds).astimezone() \
        .isoformat(timespec="milliseconds")


class RunRecord:
    """One JSON file per patch: starts, restarts after an unclean end, the
    current run (pid, since) and how the last one ended. A run that is still
    marked running when the next starts ended without saying so (killed,
    hung and restarted by the watchdog, power cut): that counts as a restart
    after a failure."""

    def __init__(self, folder: Path, patch_name: str) -> None:
        self.path = folder / "runs" / f"{safe_name(patch_name)}.json"
        self.patch_name = patch_name
        self._restarts: int | None = None   # known from `started` on: only a start or an end changes it

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record, indent=2))
        partial.replace(self.path)      # never a half-written record after a power cut

    def started(self, patch_path: str) -> dict[str, Any]:
        record = self.read()
        previous = record.get("running")
        if previous and previous.get("pid") != os.getpid():
            record["unclean_ends"] = record.get("unclean_ends", 0) + 1
            record["last_end"] = {"time": None, "reason": f"ended without stopping (pid {previous.get('pid')}, "
                                  f"started {previous.get('since')}): killed, hung or the power was cut",
                                  "clean": False}
        record["starts"] = record.get("starts", 0) + 1
        record.setdefault("first_start", wall_clock())
        record["running"] = {"pid": os.getpid(), "since": wall_clock(), "patch": patch_path}
        self._write(record)
        self._restarts = int(record.get("unclean_ends", 0))
        return record

    def ended(self, reason: str, clean: bool) -> None:
        record = self.read()
        record["running"] = None
        record["last_end"] = {"time": wall_clock(), "reason": reason, "clean": clean}
        if not clean:
            record["unclean_ends"] = record.get("unclean_ends", 0) + 1
        self._write(record)
        self._restarts = int(record.get("unclean_ends", 0))

    def restarts(self) -> int:
        """Starts after the first that followed an unclean end (asked every
        heartbeat: the file is read only before this run started)."""
        if self._restarts is None:
            self._restarts = int(self.read().get("unclean_ends", 0))
        return self._restarts
