"""MIDI learn's result written into the patch file: the new entry joins the
node's `map`, replacing the entries that drove the same target, and the
rest of the file (comments, order, layout) stays as the artist wrote it
(tomlkit). Written atomically, so the live reload never reads half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def add_entry(path: Path, node: str, entry: dict[str, Any]) -> None:
    import tomlkit
    document = tomlkit.parse(Path(path).read_text())
    try:
        table = document["nodes"][node]
    except KeyError:
        raise KeyError(f"{path}: no [nodes.{node}] to write the MIDI map into") from None
    entries = table.get("map")
    if entries is None:
        entries = tomlkit.array()
        table["map"] = entries
    target = "param" if "param" in entry else "scene"
    for i in reversed(range(len(entries))):
        if isinstance(entries[i], dict) and entries[i].get(target) == entry[target]:
            del entries[i]
    line = tomlkit.inline_table()
    line.update(entry)
    entries.append(line)
    entries.multiline(True)
    _write_atomically(Path(path), tomlkit.dumps(document))


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
