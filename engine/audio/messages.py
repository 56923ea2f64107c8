"""What the engine and its audio process say to each other over their pipe:
named messages instead of positional tuples, so both ends read the same names.

The engine asks (`Join`, `Keep`, `Leave`, `Reinitialize`, `Stop`); the audio
process answers each with a `Reply`, which also carries the streams that
opened meanwhile (`Opened`) and every side's state (`SideState`). At start it
says `Ready` or `Unavailable` (PortAudio cannot load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Join:
    side_id: int
    direction: str            # engine.audio.stream INPUT or OUTPUT
    device: int | str
    rate: int
    block: int
    channels: int
    latency_s: float
    duplex: bool | str
    memory_name: str          # the side's shared memory (engine/audio/feed.py)
    frames: int
    realtime: bool


@dataclass(frozen=True)
class Keep:
    side_id: int
    retry_s: float
    now: bool


@dataclass(frozen=True)
class Leave:
    side_id: int


@dataclass(frozen=True)
class Reinitialize:
    pass


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class Unavailable:
    error: str


@dataclass(frozen=True)
class Opened:
    side_id: int
    device_name: str
    duplex: bool
    latency_s: float


@dataclass(frozen=True)
class SideState:
    is_open: bool
    next_try_us: int


OK, LOST, ERROR = "ok", "lost", "error"


@dataclass(frozen=True)
class Reply:
    status: str               # OK, LOST (DeviceLost) or ERROR (PortAudio's error)
    result: Any = None        # the request's result, or the error's text
    opened: list[Opened] = field(default_factory=list)
    states: dict[int, SideState] = field(default_factory=dict)
    stuck: int = 0            # PortAudio streams that would not close
