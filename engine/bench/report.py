"""How every benchmark reports: a readable table, and the same figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def print_table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> None:
    """`columns`: (heading, key, format) for each column, e.g. ("p95 ms", "p95_ms", "{:.1f}")."""
    cells = [[heading for heading, _, _ in columns]]
    for row in rows:
        cells.append(["-" if row.get(key) is None else fmt.format(row[key]) for _, key, fmt in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    print(title)
    for r in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def write_json(path: Path | None, figures: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rounded = {key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}
    path.write_text(json.dumps(rounded, indent=2) + "\n")
    print(f"wrote {path}")
