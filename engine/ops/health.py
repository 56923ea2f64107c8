"""The figures a venue's monitoring watches: the process's memory, open files,
threads and children (psutil), free disk, and the `/health` answer served on
the OSCQuery port."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import psutil

from engine.ops.state import wall_clock

# The heartbeat's process figures: (name, OSC type tag, description).
PROCESS_FIGURES = (
    ("rss_mb", "f", "resident memory of the engine's process (MB)"),
    ("fds", "i", "open file descriptors of the engine's process"),
    ("threads", "i", "threads of the engine's process"),
    ("children", "i", "child processes (the audio and OSC processes)"),
    ("disk_free_mb", "f", "free space on the disk of the output folder (MB)"),
    ("restarts", "i", "times this patch was started again after a run that failed or was killed"),
)


class ProcessFigures:
    def __init__(self, output_dir: Path) -> None:
        self.process = psutil.Process()
        self.output_dir = Path(output_dir)

    def read(self) -> dict[str, float | int]:
        with self.process.oneshot():
            figures: dict[str, float | int] = {
                "rss_mb": round(self.process.memory_info().rss / 1e6, 2),
                "fds": self.process.num_fds(),
                "threads": self.process.num_threads(),
                "children": len(self.process.children(recursive=True)),
            }
        figures["disk_free_mb"] = round(disk_free_mb(self.output_dir), 1)
        return figures


def disk_free_mb(folder: Path) -> float:
    """Free space where `folder` is, or would be (its nearest existing parent)."""
    folder = Path(folder).resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / 1e6


def sink_names(engine: Any) -> list[str]:
    """Nodes with no outputs: where the audience sees or hears the show."""
    return [name for name, decl in engine.patch.nodes.items() if not decl.node_class.outputs]


def audio_process_pid() -> int:
    """The audio process's pid (0 while there is none), without importing the audio host."""
    host = sys.modules.get("engine.audio.host")
    found = host._hosts.get(False) if host is not None else None
    process = getattr(found, "_process", None)
    return process.pid if process is not None and process.is_alive() else 0


def health(engine: Any, started: float, scene: str, restarts: int, process: ProcessFigures,
           last_error: Callable[[], str | None], schedule_open: bool | None = None,
           osc_pid: int = 0) -> dict[str, Any]:
    """The `/health` answer. `up` is false while stopping, or when a sink
    has not delivered a frame in its last second."""
    nodes = engine.snapshot()
    status = engine.status()
    fps = {name: round(float(nodes[name]["fps"]), 2) for name in sink_names(engine) if name in nodes}
    up = not engine.stop_requested.is_set() and all(value > 0 for value in fps.values())
    return {
        "up": up,
        "time": wall_clock(),
        "uptime_s": round(time.monotonic() - started, 1),
        "patch": engine.patch.name,
        "scene": scene,
        "fps": fps,
        "underflows": int(status.get("xruns", 0)),
        "underflow_kinds": {kind: int(status.get(f"xruns/{kind}", 0)) for kind in ("ring", "device", "late")},
        "restarts": restarts,
        "audio_restarts": int(status.get("audio/restarts", 0)),
        "errors": sum(int(f["errors"]) for f in nodes.values()),
        "last_error": last_error(),
        "node_fps": {name: round(float(f["fps"]), 2) for name, f in nodes.items()},
        "pid": os.getpid(),
        "audio_pid": audio_process_pid(),
        "osc_pid": osc_pid,
        **process.read(),
        **({} if schedule_open is None else {"schedule_open": schedule_open}),
    }
