"""A MIDI controller's map onto parameters and scenes, as a patch writes it:

    map = [
      { cc = 16, param = "style.strength" },                          # the parameter's own range
      { cc = 17, param = "tone.frequency", range = [110, 880], curve = "exp" },
      { note = 36, scene = "calm" },                                  # a pad recalls a scene
      { note = 40, param = "screen.blackout" },                       # held: on, released: off
      { bend = true, param = "tone.frequency", range = [200, 400], channel = 2 },
    ]

A control's 0..127 (pitch bend's -8192..8191) becomes 0..1, then goes through
the curve, then into the range. `exp` suits frequencies and gains (equal
steps are equal ratios; both ends must be above 0), `log` is its mirror.
A bool parameter is on from the control's middle up; a choice parameter is
split into equal slices of the control's travel. Channels are counted 1-16
as on the controller; an entry without one answers every channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CURVES = ("linear", "exp", "log")
SOURCES = ("cc", "note", "bend")


@dataclass(frozen=True)
class Entry:
    source: str                  # "cc", "note" or "bend"
    number: int                  # the controller or note number (0 for bend)
    channel: int | None          # 1-16, or None for any
    param: str | None            # "node.param", or None for a scene
    scene: str | None
    range: tuple[float, float] | None
    curve: str

    @property
    def key(self) -> str | None:
        """The parameter's store key ("node/param")."""
        return self.param.replace(".", "/") if self.param else None

    def describe(self) -> str:
        what = {"cc": f"cc {self.number}", "note": f"note {self.number}", "bend": "pitch bend"}[self.source]
        return what + (f" on channel {self.channel}" if self.channel else "")

    def matches(self, source: str, number: int, channel: int) -> bool:
        return self.source == source and (source == "bend" or self.number == number) \
            and (self.channel is None or self.channel == channel)


def parse_map(entries: Any) -> tuple[list[Entry], list[tuple[str, str]]]:
    """The entries, and (key, problem) for each that cannot be read."""
    if not isinstance(entries, list):
        return [], [("map", "expected a list of { cc = N, param = \"node.param\" } tables")]
    parsed: list[Entry] = []
    problems: list[tuple[str, str]] = []
    for i, entry in enumerate(entries):
        where = f"map[{i}]"
        if not isinstance(entry, dict):
            problems.append((where, "expected a table such as { cc = 16, param = \"style.strength\" }"))
            continue
        unknown = set(entry) - {*SOURCES, "channel", "param", "scene", "range", "curve"}
        if unknown:
            problems.append((where, f"unknown key(s) {', '.join(sorted(unknown))}; an entry has one of cc, note, "
                                    "bend, one of param, scene, and may have channel, range, curve"))
            continue
        sources = [s for s in SOURCES if s in entry]
        if len(sources) != 1:
            problems.append((where, "give exactly one of cc = N, note = N, bend = true"))
            continue
        source = sources[0]
        number = 0 if source == "bend" else entry[source]
        if source == "bend" and entry["bend"] is not True:
            problems.append((f"{where}.bend", "write bend = true"))
            continue
        if source != "bend" and (isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 127):
            problems.append((f"{where}.{source}", f"expected a number 0-127, got {number!r}"))
            continue
        channel = entry.get("channel")
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 16):
            problems.append((f"{where}.channel", f"expected a channel 1-16, got {channel!r}"))
            continue
        if ("param" in entry) == ("scene" in entry):
            problems.append((where, "give exactly one of param = \"node.param\", scene = \"NAME\""))
            continue
        param, scene = entry.get("param"), entry.get("scene")
        if param is not None and (not isinstance(param, str) or param.count(".") != 1):
            problems.append((f"{where}.param", f"expected \"node.param\", got {param!r}"))
            continue
        if scene is not None and (not isinstance(scene, str) or not scene):
            problems.append((f"{where}.scene", f"expected a scene's name, got {scene!r}"))
            continue
        span = entry.get("range")
        if span is not None:
            if not (isinstance(span, list) and len(span) == 2 and all(isinstance(v, (int, float))
                                                                      and not isinstance(v, bool) for v in span)):
                problems.append((f"{where}.range", f"expected [low, high], got {span!r}"))
                continue
            span = (float(span[0]), float(span[1]))
        curve = entry.get("curve", "linear")
        if curve not in CURVES:
            problems.append((f"{where}.curve", f"expected one of {', '.join(CURVES)}, got {curve!r}"))
            continue
        if curve in ("exp", "log") and span is not None and min(span) <= 0:
            problems.append((f"{where}.range", f"an {curve} curve needs both ends above 0, got {list(span)}"))
            continue
        parsed.append(Entry(source, number, channel, param, scene, span, curve))
    return parsed, problems


def shaped(fraction: float, low: float, high: float, curve: str) -> float:
    """0..1 through the curve into [low, high]."""
    fraction = min(1.0, max(0.0, fraction))
    if curve == "linear" or low <= 0 or high <= 0:
        return low + fraction * (high - low)
    if curve == "log":              # the mirror of exp: most of the travel near the top
        return low + high - low * math.exp((1.0 - fraction) * math.log(high / low))
    return low * math.exp(fraction * math.log(high / low))


def fraction_of(source: str, value: int) -> float:
    """A control's value as 0..1: 0-127 for cc and note velocity, -8192..8191 for bend."""
    if source == "bend":
        return (value + 8192) / 16383
    return value / 127
