"""Opening hours and timed scene changes, in the venue's wall-clock time.

    [schedule]
    timezone = "Europe/Berlin"        # default: the machine's own
    daily = "10:00-18:00"             # every day not named below
    mon = "closed"
    sat = "10:00-13:00, 14:00-22:00"
    fri = "18:00-02:00"               # past midnight: open into Saturday morning
    scenes = [{ at = "12:00", scene = "noon" }, { at = "17:30", scene = "dusk", days = ["sat", "sun"] }]

Outside the hours the show is blacked out and silenced (every window's
`blackout`, every speaker's `mute`); at opening both come back as they were.
With `closed = "stop"` the nodes are stopped and closed instead (the camera,
the sound device and the models released; the window closes) and opened
again at opening, the process, its parameters and its OSC staying up.
`/tensorstage/schedule 1|0` opens or closes by hand until the next scheduled
change. Times are wall-clock times of the zone: on the night clocks go
forward a time that does not exist happens when the clock jumps past it, and
on the night they go back a time that happens twice counts once (the first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = ("timezone", "daily", *DAYS, "scenes", "closed")
CLOSED_MODES = ("blackout", "stop")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
OPEN, CLOSE, SCENE = "open", "close", "scene"


class ScheduleError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {text}" for key, text in problems))
        self.problems = problems      # (key, what is wrong)


@dataclass(frozen=True)
class Change:
    at: datetime          # aware, UTC
    kind: str             # OPEN, CLOSE or SCENE
    scene: str = ""


def _minutes(hours: str, minutes: str, allow_24: bool = False) -> int | None:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        return None
    return h * 60 + m


def _spans(text: Any, key: str, problems: list) -> list[tuple[int, int]]:
    """"10:00-13:00, 14:00-18:00" -> minute spans; "closed" -> []; an end
    before the start runs past midnight."""
    if not isinstance(text, str):
        problems.append((key, f'expected hours such as "10:00-18:00" or "closed", got {text!r}'))
        return []
    if text.strip().lower() == "closed":
        return []
    spans = []
    for part in text.split(","):
        found = _SPAN.match(part.strip())
        start = found and _minutes(found.group(1), found.group(2))
        end = found and _minutes(found.group(3), found.group(4), allow_24=True)
        if not found or start is None or end is None or start == end:
            problems.append((key, f'cannot read {part.strip()!r}: expected HH:MM-HH:MM (or "closed")'))
            continue
        spans.append((start, end if end > start else end + 24 * 60))
    return spans


class Schedule:
    def __init__(self, spec: dict[str, Any], local_zone: Any = None) -> None:
        problems: list[tuple[str, str]] = []
        for key in spec:
            if key not in KEYS:
                problems.append((key, f"unknown key; [schedule] has: {', '.join(KEYS)}"))
        zone_name = spec.get("timezone")
        try:
            self.zone = ZoneInfo(zone_name) if zone_name else (local_zone or _local_zone())
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            problems.append(("timezone", f"unknown time zone {zone_name!r} (an IANA name: Europe/Berlin)"))
            self.zone = timezone.utc
        self.closed = spec.get("closed", "blackout")
        if self.closed not in CLOSED_MODES:
            problems.append(("closed", f'expected "blackout" (the show stays loaded, dark and silent) or "stop" '
                                       f'(its nodes close: camera, sound device and models released), got {self.closed!r}'))
        daily = _spans(spec["daily"], "daily", problems) if "daily" in spec else None
        self.hours: list[list[tuple[int, int]] | None] = [
            _spans(spec[day], day, problems) if day in spec else daily for day in DAYS]
        self.has_hours = any(h is not None for h in self.hours)
        self.scenes: list[tuple[int, str, frozenset[int]]] = []
        entries = spec.get("scenes", [])
        if not isinstance(entries, list):
            problems.append(("scenes", "expected a list of { at = \"HH:MM\", scene = \"NAME\" }"))
            entries = []
        for i, entry in enumerate(entries):
            where = f"scenes[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("scene"), str) \
                    or not isinstance(entry.get("at"), str) or not _TIME.match(entry["at"]):
                problems.append((where, 'expected { at = "HH:MM", scene = "NAME", days = [...] (optional) }'))
                continue
            found = _TIME.match(entry["at"])
            minute = _minutes(found.group(1), found.group(2))
            days = entry.get("days", list(DAYS))
            if minute is None or not isinstance(days, list) or any(d not in DAYS for d in days):
                problems.append((where, f"a time 00:00-23:59 and days among {', '.join(DAYS)}"))
                continue
            self.scenes.append((minute, entry["scene"], frozenset(DAYS.index(d) for d in days)))
        if problems:
            raise ScheduleError(problems)

    # Wall-clock times to instants ---------------------------------------------------
    def instant(self, day: date, minute: int) -> datetime:
        """The UTC instant of a wall-clock time of `day` (minute may pass 24 h)."""
        day, minute = day + timedelta(days=minute // (24 * 60)), minute % (24 * 60)
        naive = datetime.combine(day, time(minute // 60, minute % 60))
        first = naive.replace(tzinfo=self.zone, fold=0).astimezone(timezone.utc)
        if first.astimezone(self.zone).replace(tzinfo=None) == naive:
            return first            # exists (the first of two, on the night clocks go back)
        # Skipped by the clocks going forward: it happens when the clock jumps past it.
        later = naive.replace(tzinfo=self.zone, fold=1).astimezone(timezone.utc)
        low, high = min(first, later), max(first, later)
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self.zone).replace(tzinfo=None) >= naive:
                high = middle
            else:
                low = middle
        return high.replace(microsecond=0)

    def changes(self, start: datetime, end: datetime) -> list[Change]:
        """Every change with start < at <= end, in order."""
        first_day = start.astimezone(self.zone).date() - timedelta(days=1)
        last_day = end.astimezone(self.zone).date()
        found: list[Change] = []
        day = first_day
        while day <= last_day:
            weekday = day.weekday()
            for span_start, span_end in self.hours[weekday] or []:
                found += [Change(self.instant(day, span_start), OPEN), Change(self.instant(day, span_end), CLOSE)]
            for minute, scene, days in self.scenes:
                if weekday in days:
                    found.append(Change(self.instant(day, minute), SCENE, scene))
            day += timedelta(days=1)
        return sorted((c for c in found if start < c.at <= end), key=lambda c: (c.at, c.kind != CLOSE))

    def is_open(self, at: datetime) -> bool:
        if not self.has_hours:
            return True
        day = at.astimezone(self.zone).date()
        for d in (day - timedelta(days=1), day):       # yesterday's span may run past midnight
            for span_start, span_end in self.hours[d.weekday()] or []:
                if self.instant(d, span_start) <= at < self.instant(d, span_end):
                    return True
        return False

    def current_scene(self, at: datetime) -> str | None:
        """The scene the schedule set most recently (within a week), to show after a restart."""
        past = [c for c in self.changes(at - timedelta(days=7), at) if c.kind == SCENE]
        return past[-1].scene if past else None

    def next_change(self, at: datetime, kinds: tuple[str, ...] = (OPEN, CLOSE)) -> Change | None:
        upcoming = [c for c in self.changes(at, at + timedelta(days=8)) if c.kind in kinds]
        return upcoming[0] if upcoming else None


def _local_zone() -> Any:
    """The machine's zone: /etc/localtime's IANA name when it has one (so DST
    rules apply), else the current fixed offset."""
    import os
    from pathlib import Path
    if os.environ.get("TZ"):
        try:
            return ZoneInfo(os.environ["TZ"].lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = Path("/etc/localtime").resolve()
        if "zoneinfo" in target.parts:
            return ZoneInfo("/".join(target.parts[target.parts.index("zoneinfo") + 1:]))
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return datetime.now().astimezone().tzinfo


class Scheduler:
    """Applies a schedule to the running engine, from its main loop (`tick`,
    about once a second). `now` is the clock (a test's fake one)."""

    def __init__(self, engine: Any, recall: Any, now: Any = None) -> None:
        self.engine, self.recall = engine, recall
        self._spec = engine.patch.schedule
        self.schedule = Schedule(self._spec)
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.override: bool | None = None       # set over OSC; the next scheduled open or close ends it
        self.open: bool | None = None
        self._kept: dict[str, Any] = {}          # blackout and mute as they were before closing
        self._last = self.now()

    def start(self) -> None:
        """At start (or restart mid-day): the state and the scene due now."""
        now = self._last
        scene = self.schedule.current_scene(now)
        if scene is not None:
            self.recall(scene)
        self._apply(self.schedule.is_open(now), "at start")

    def tick(self) -> None:
        if self.engine.patch.schedule is not self._spec:      # a reload changed the hours
            self._spec = self.engine.patch.schedule
            self.schedule = Schedule(self._spec or {})
            self.open = None                                   # applied again: the closed mode may differ
        now = self.now()
        changes = self.schedule.changes(self._last, now)
        self._last = now
        if any(c.kind in (OPEN, CLOSE) for c in changes):
            self.override = None
        scenes = [c.scene for c in changes if c.kind == SCENE]
        if scenes:
            self.recall(scenes[-1])        # after a clock jump, only the scene due now
        wanted = self.override if self.override is not None else self.schedule.is_open(now)
        if wanted != self.open:
            self._apply(wanted, "by hand (OSC)" if self.override is not None else "on schedule")

    def command(self, name: str, args: tuple) -> None:
        """/tensorstage/schedule OPEN: 1 opens, 0 closes, until the next scheduled change."""
        self.override = bool(args[0] >= 0.5)

    def _targets(self, param: str) -> list[str]:
        return [f"{name}/{param}" for name, decl in self.engine.patch.nodes.items() if param in decl.node_class.params]

    def _apply(self, open_now: bool, why: str) -> None:
        from engine.ops.logs import LOG
        stop_mode = self.schedule.closed == "stop"
        if open_now or not stop_mode:
            self.engine.wake()                 # nothing to do unless it rests
        self._blackout(not open_now and not stop_mode)
        if not open_now and stop_mode:
            self.engine.rest()
        self.open = open_now
        upcoming = self.schedule.next_change(self.now())
        following = f"; next: {upcoming.kind} at {upcoming.at.astimezone(self.schedule.zone):%a %H:%M %Z}" \
            if upcoming else ""
        closed = "closed (nodes stopped)" if stop_mode else "closed (blackout and silence)"
        LOG.info("schedule: %s %s%s", "open" if open_now else closed, why, following)

    def _blackout(self, on: bool) -> None:
        """Every window's blackout and every speaker's mute on, or back to what they were."""
        store = self.engine.store
        if on:
            for key in self._targets("blackout") + self._targets("mute"):
                if key not in self._kept:
                    self._kept[key] = store.target(key)
                store.set(key, True)
        else:
            for key, value in list(self._kept.items()):
                if key in store.specs:
                    store.set(key, value)
            self._kept.clear()
