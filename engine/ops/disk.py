"""Recordings in bounds across restarts: a total cap and an age limit over
every recording in the output folder (the oldest go first), and no new
recording, or an end to a running one, when the disk is nearly full. (Logs
are bounded by their rotation, crash reports by their count.)"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.ops.health import disk_free_mb

RECORDING_SUFFIXES = (".mp4", ".wav")


@dataclass(frozen=True)
class DiskLimits:
    recordings_max_mb: float = 20000.0
    recordings_keep_days: float = 30.0      # 0: keep them whatever their age
    min_free_mb: float = 1000.0

    @classmethod
    def of(cls, show: dict[str, Any]) -> "DiskLimits":
        return cls(**{key: float(show[key]) for key in cls.__dataclass_fields__ if key in show})


def recordings(folder: Path) -> list[Path]:
    """Every recording under `folder`, oldest first."""
    if not folder.exists():
        return []
    found = [p for p in folder.rglob("*") if p.suffix in RECORDING_SUFFIXES and p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def prune(folder: Path, limits: DiskLimits, now: float | None = None) -> list[Path]:
    """Remove recordings past the age limit, then the oldest until the rest
    fit under the total cap. Returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    files = recordings(folder)
    if limits.recordings_keep_days > 0:
        too_old = now - limits.recordings_keep_days * 86400
        for path in [p for p in files if p.stat().st_mtime < too_old]:
            path.unlink(missing_ok=True)
            removed.append(path)
            files.remove(path)
    total = sum(p.stat().st_size for p in files)
    cap = limits.recordings_max_mb * 1e6
    while files and total > cap:
        oldest = files.pop(0)
        total -= oldest.stat().st_size
        oldest.unlink(missing_ok=True)
        removed.append(oldest)
    return removed


def refusal(folder: Path, limits: DiskLimits) -> str | None:
    """Why a recording must not start (or go on) here, or None."""
    free = disk_free_mb(folder)
    if free < limits.min_free_mb:
        return (f"only {free:.0f} MB free on the disk of {folder} ([show] min_free_mb = {limits.min_free_mb:g}): "
                "not recording")
    return None
