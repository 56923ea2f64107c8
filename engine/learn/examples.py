"""The examples a performer recorded and the mapping trained from them, in one
readable JSON file beside the patch.

    {"format": "tensorstage-learn", "version": 1,
     "inputs": [{"port": "in1", "from": "look.motion", "size": 1}, ...],
     "targets": ["style.strength", "scene"],
     "examples": [{"take": 1, "x": [0.12, ...], "y": [0.8, "calm"]}, ...],
     "mapping": {...} or null}

`y` holds each target's value as the parameter had it (a number in the
parameter's own units, a choice's name, a bool as 0 or 1, a scene's name), so
the file reads as what was shown. The file is written whole to a temporary
name and renamed, so a crash never leaves half of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.learn.mapping import Mapping

FORMAT, VERSION = "tensorstage-learn", 1


@dataclass(frozen=True)
class InputSlot:
    port: str          # the learn node's input port
    source: str        # the "node.port" feeding it
    size: int          # values it carries (1: a float)

    def describe(self) -> str:
        return f"{self.port} ({self.source}, {self.size} value{'s' if self.size != 1 else ''})"


@dataclass
class Examples:
    inputs: tuple[InputSlot, ...]
    targets: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)     # {"take", "x", "y"}
    mapping: Mapping | None = None

    @property
    def takes(self) -> list[int]:
        return [row["take"] for row in self.rows]

    def next_take(self) -> int:
        return max(self.takes, default=0) + 1

    def add(self, take: int, x: list[float], y: list[Any]) -> None:
        self.rows.append({"take": take, "x": x, "y": y})

    def delete_last_take(self) -> int:
        """Remove the newest take's examples; how many went."""
        if not self.rows:
            return 0
        last = self.rows[-1]["take"]
        kept = [row for row in self.rows if row["take"] != last]
        removed = len(self.rows) - len(kept)
        self.rows = kept
        return removed

    def describe_inputs(self) -> str:
        return ", ".join(slot.describe() for slot in self.inputs) or "none"

    # The file --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION,
            "inputs": [{"port": s.port, "from": s.source, "size": s.size} for s in self.inputs],
            "targets": list(self.targets),
            "examples": self.rows,
            "mapping": None if self.mapping is None else self.mapping.to_json(),
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        os.replace(temporary, path)


class ExamplesFileError(ValueError):
    """A learn file that cannot be read; the message names the file and the key."""


def load(path: Path) -> Examples:
    """The examples and mapping in `path`; ExamplesFileError saying what is wrong."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExamplesFileError(f"{path}: cannot read it: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ExamplesFileError(f"{path}: not a tensorstage learn file (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise ExamplesFileError(f"{path}: version {data.get('version')!r}; this engine reads version {VERSION}")
    key = "inputs"
    try:
        inputs = tuple(InputSlot(str(s["port"]), str(s["from"]), int(s["size"])) for s in data["inputs"])
        key = "targets"
        targets = tuple(str(t) for t in data["targets"])
        key = "examples"
        rows = []
        width = sum(slot.size for slot in inputs)
        for i, row in enumerate(data["examples"]):
            key = f"examples[{i}]"
            x, y = [float(v) for v in row["x"]], list(row["y"])
            if len(x) != width or len(y) != len(targets):
                raise ValueError(f"expected {width} inputs and {len(targets)} targets, "
                                 f"got {len(x)} and {len(y)}")
            rows.append({"take": int(row["take"]), "x": x, "y": y})
        key = "mapping"
        mapping = None if data.get("mapping") is None else Mapping.from_json(data["mapping"])
        if mapping is not None and len(mapping.mean) != width:
            raise ValueError(f"the mapping takes {len(mapping.mean)} inputs; the examples hold {width}")
    except (KeyError, ValueError, TypeError) as error:
        what = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise ExamplesFileError(f"{path}: {key}: {what}") from None
    return Examples(inputs, targets, rows, mapping)
