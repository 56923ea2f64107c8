"""Parameters: what a performer (or OSC, a scene, a script) can change live.

A node declares the parameters it reads (`ParamSpec`); a patch chooses which of
them to expose and may narrow their range, change their default, smoothing and
description. The `ParamStore` holds every parameter of a running patch under the
key `node/param` (its OSC address is `/node/param`). Anything may write to it from
any thread; nodes read the smoothed value at the start of each `process`.

Smoothing is a linear ramp: a write starting at value `a` reaches its target
exactly `smoothing_s` later, which is what a performer expects from a fader and
what the tests can check.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.clock import now_us

FLOAT, INT, BOOL, CHOICE = "float", "int", "bool", "choice"
PARAM_TYPES = (FLOAT, INT, BOOL, CHOICE)
MAX_FADE_S = 3600.0      # the longest glide a write or a scene recall may ask for
MAX_SCENES = 128         # scenes a patch may hold, stored ones included
MAX_SCENE_NAME = 64


class ParamError(ValueError):
    """A write that cannot be applied (unknown address, wrong type)."""


@dataclass(frozen=True)
class ParamSpec:
    type: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    unit: str = ""
    smoothing_s: float = 0.0
    choices: tuple[str, ...] = ()
    exposed: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"parameter type must be one of {PARAM_TYPES}, not {self.type!r}")

    @property
    def range(self) -> tuple[float, float] | None:
        if self.min is None or self.max is None:
            return None
        return (self.min, self.max)

    def coerce(self, value: Any) -> tuple[Any, bool]:
        """Value converted to this type and clamped into range; True if it was clamped.

        Raises ParamError for a value of the wrong kind (a string for a float, ...).
        OSC senders send floats for everything (Pd does), so a float that is a whole
        number is accepted for an int, and 0/1 for a bool.
        """
        if self.type == CHOICE:
            if not isinstance(value, str):
                raise ParamError(f"expected one of {', '.join(self.choices)}, got {describe(value)}")
            if value not in self.choices:
                raise ParamError(f"{value!r} is not one of {', '.join(self.choices)}")
            return value, False
        if isinstance(value, bool):
            number: float = float(value)
        elif isinstance(value, (int, float)):
            number = float(value)
        else:
            raise ParamError(f"expected a number, got {describe(value)}")
        if not math.isfinite(number):
            raise ParamError(f"expected a finite number, got {value!r}")
        if self.type == BOOL:
            return number >= 0.5, False
        clamped = number
        if self.min is not None:
            clamped = max(self.min, clamped)
        if self.max is not None:
            clamped = min(self.max, clamped)
        if self.type == INT:
            return int(round(clamped)), clamped != number
        return clamped, clamped != number


def describe(value: Any) -> str:
    """How an error message names a wrong value: its kind and the value."""
    kinds = {bool: "the boolean", int: "the integer", float: "the number", str: "the string",
             list: "the list", dict: "the table"}
    return f"{kinds.get(type(value), type(value).__name__)} {value!r}"


@dataclass
class _Ramp:
    """Where a parameter is going: from `start` at `t0_us` to `target` over `dur_us`.

    Replaced whole on every write, so a reader in another thread always sees a
    consistent ramp without a lock.
    """
    start: Any
    target: Any
    t0_us: int
    dur_us: int

    def value_at(self, t_us: int) -> Any:
        if t_us < self.t0_us:
            return self.start            # a change waiting for its time (a recall on the next bar)
        if self.dur_us <= 0 or t_us >= self.t0_us + self.dur_us:
            return self.target
        fraction = max(0.0, (t_us - self.t0_us) / self.dur_us)
        return self.start + (self.target - self.start) * fraction


def _check_fade(fade_s: Any) -> None:
    """A fade time is a number of seconds, 0 to MAX_FADE_S, before any arithmetic."""
    if fade_s is not None and (isinstance(fade_s, bool) or not isinstance(fade_s, (int, float))
                               or not math.isfinite(fade_s) or not 0 <= fade_s <= MAX_FADE_S):
        raise ParamError(f"fade time {fade_s!r}: expected 0 to {MAX_FADE_S:g} seconds")


@dataclass
class WriteResult:
    key: str
    value: Any
    clamped: bool


@dataclass
class ParamStore:
    """Every parameter of the running patch, by key `node/param`."""

    clock: Callable[[], int] = now_us
    specs: dict[str, ParamSpec] = field(default_factory=dict)
    scenes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ramps: dict[str, _Ramp] = field(default_factory=dict)
    # Writes (OSC, control streams), scene recalls and a reload's new
    # parameters come from different threads: one at a time.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    version: int = 0     # goes up on every change: what a cached view of the values (OSCQuery) checks
    last_scene: str = ""  # the scene recalled last, by any path (OSC, schedule, a learned mapping)
    # When a scene recall takes effect (engine µs; None: at once): a Link node
    # sets this so recalls from any path land on the next beat or bar.
    recall_at: Callable[[], int | None] | None = field(default=None, repr=False, compare=False)
    # Node state in scenes (colour hints, a palette): scene -> [(node, command, args)],
    # replayed by `send_command(node, command, args, at_us)`; `node_state()` is
    # what /scene/store records (the engine sets both).
    scene_commands: dict[str, list[tuple[str, str, tuple]]] = field(default_factory=dict)
    send_command: Callable[[str, str, tuple, int | None], None] | None = field(default=None, repr=False,
                                                                               compare=False)
    node_state: Callable[[], list[tuple[str, str, tuple]]] | None = field(default=None, repr=False, compare=False)
    _stored: set[str] = field(default_factory=set, repr=False, compare=False)   # scenes stored while running

    def define(self, specs: dict[str, ParamSpec]) -> None:
        """Install the parameters of a (re)loaded patch.

        A parameter that keeps its type and default keeps its current value
        (clamped into a new range); a new one, or one whose default the patch
        changed, starts at its default.
        """
        with self._lock:
            self._define(specs)

    def _define(self, specs: dict[str, ParamSpec]) -> None:
        self.version += 1
        now = self.clock()
        ramps: dict[str, _Ramp] = {}
        for key, spec in specs.items():
            old_spec, old_ramp = self.specs.get(key), self._ramps.get(key)
            if old_ramp is not None and old_spec is not None and old_spec.type == spec.type \
                    and old_spec.default == spec.default:
                value, _ = spec.coerce(old_ramp.value_at(now))
                target, _ = spec.coerce(old_ramp.target)
                ramps[key] = _Ramp(value, target, now, old_ramp.t0_us + old_ramp.dur_us - now)
            else:
                ramps[key] = _Ramp(spec.default, spec.default, now, 0)
        self.specs = dict(specs)
        self._ramps = ramps

    def set(self, key: str, value: Any, fade_s: float | None = None, at_us: int | None = None) -> WriteResult:
        """Write a new target. Floats glide there over the parameter's smoothing
        time (or `fade_s`); other types change at once. From `at_us` (engine
        time) if that is later than now: the value holds until then."""
        _check_fade(fade_s)
        with self._lock:
            spec = self._spec(key)
            coerced, clamped = spec.coerce(value)
            now = self.clock() if at_us is None else max(self.clock(), at_us)
            seconds = spec.smoothing_s if fade_s is None else fade_s
            if spec.type == FLOAT and seconds > 0:
                ramp = _Ramp(self._ramps[key].value_at(now), coerced, now, int(seconds * 1e6))
            else:
                ramp = _Ramp(self._ramps[key].value_at(now), coerced, now, 0)
            self._ramps[key] = ramp
            self.version += 1
            return WriteResult(key, coerced, clamped)

    def value(self, key: str) -> Any:
        """The smoothed value now."""
        try:
            ramp = self._ramps[key]
        except KeyError:
            raise ParamError(f"no parameter {key!r}") from None
        return ramp.value_at(self.clock())

    def target(self, key: str) -> Any:
        return self._ramps[self._key(key)].target

    def exposed(self) -> dict[str, ParamSpec]:
        return {k: s for k, s in self.specs.items() if s.exposed}

    def recall(self, scene: str, fade_s: float | None = None) -> None:
        """Move every parameter named in a scene to its stored value."""
        _check_fade(fade_s)
        with self._lock:
            try:
                values = self.scenes[scene]
            except (KeyError, TypeError):
                known = ", ".join(sorted(self.scenes)) or "none"
                raise ParamError(f"no scene {scene!r}; scenes are: {known}") from None
            self.last_scene = scene
            at_us = self.recall_at() if self.recall_at is not None else None
            for key, value in values.items():
                try:
                    self.set(key, value, fade_s, at_us)
                except ParamError:
                    pass             # a parameter a reload removed: the rest of the scene still applies
            if self.send_command is not None:
                for node, command, args in self.scene_commands.get(scene, ()):
                    self.send_command(node, command, args, at_us)

    def store_scene(self, scene: str) -> dict[str, Any]:
        """Remember the current targets of the exposed parameters as a scene."""
        if not isinstance(scene, str) or not 0 < len(scene) <= MAX_SCENE_NAME:
            raise ParamError(f"a scene name is 1 to {MAX_SCENE_NAME} characters")
        with self._lock:
            if scene not in self.scenes and len(self.scenes) >= MAX_SCENES:
                raise ParamError(f"already {MAX_SCENES} scenes; store over one of them")
            values = {key: self._ramps[key].target for key in self.exposed()}
            self.scenes[scene] = values
            self.scene_commands[scene] = list(self.node_state()) if self.node_state is not None else []
            self._stored.add(scene)
            return values

    def load_scenes(self, scenes: dict[str, dict[str, Any]],
                    commands: dict[str, list[tuple[str, str, tuple]]] | None = None) -> None:
        """The scenes of a (re)loaded patch. Scenes stored while running stay
        unless the patch now has one of that name: an edit of the file must not
        lose what the performer stored."""
        with self._lock:
            kept = {name for name in self._stored if name not in scenes and name in self.scenes}
            self.scenes = {**{name: self.scenes[name] for name in kept}, **scenes}
            self.scene_commands = {**{name: self.scene_commands.get(name, []) for name in kept},
                                   **(commands or {})}
            self._stored = kept
            self.version += 1

    def _key(self, key: str) -> str:
        if key not in self._ramps:
            raise ParamError(f"no parameter {key!r}")
        return key

    def _spec(self, key: str) -> ParamSpec:
        try:
            return self.specs[key]
        except KeyError:
            raise ParamError(f"no parameter {key!r}") from None


class ParamView:
    """What a node sees of the store: its own parameters, by short name."""

    def __init__(self, store: ParamStore, node: str) -> None:
        self._store, self._prefix = store, node + "/"

    def __getitem__(self, name: str) -> Any:
        return self._store.value(self._prefix + name)

    def set(self, name: str, value: Any) -> WriteResult:
        return self._store.set(self._prefix + name, value)
