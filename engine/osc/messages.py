"""What the engine and its OSC process (engine/osc/process_server.py) say to
each other over their pipe: named messages, not positional tuples.

The OSC process says `Bound` (or `BindFailed`) once, then sends a `Batch`
whenever something happened: the actions to apply in order (`Write`,
`Recall`, `StoreScene`, `Swap`), its reports, and now and then its counters.
The engine sends `NewSpecs` after a reload changed the parameters, and `Stop`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Bound:
    host: str
    port: int


@dataclass(frozen=True)
class BindFailed:
    errno: int
    strerror: str


@dataclass(frozen=True)
class NewSpecs:
    specs: dict[str, Any]
    scenes: list[str]
    commands: dict[str, Any]     # the nodes' own addresses: {address: (node, name, OscCommand)}


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Write:
    key: str
    value: Any


@dataclass(frozen=True)
class Recall:
    scene: str
    fade_s: float | None


@dataclass(frozen=True)
class StoreScene:
    scene: str


@dataclass(frozen=True)
class Swap:
    node: str
    path: str


@dataclass(frozen=True)
class Command:
    node: str
    name: str
    args: tuple


@dataclass(frozen=True)
class Report:
    kind: str
    source: str
    message: str


Action = Write | Recall | StoreScene | Swap | Command


@dataclass(frozen=True)
class Counts:
    totals: dict[str, int]
    by_address: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Batch:
    actions: list[Action] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    counts: Counts | None = None       # sent at most every COUNTS_EVERY_S, and only when they changed
