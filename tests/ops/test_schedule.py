"""Opening hours and timed scenes with a fake clock, across both
daylight-saving changes of Europe/Berlin in 2026 (29 March: 02:00 -> 03:00;
25 October: 03:00 -> 02:00)."""

import json
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.ops.schedule import CLOSE, OPEN, SCENE, Schedule, ScheduleError, Scheduler
from engine.params import BOOL, ParamSpec, ParamStore
from tests.conftest import free_udp_port

REPO = Path(__file__).resolve().parents[2]
UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_hours_per_weekday_with_a_span_past_midnight():
    schedule = Schedule({"timezone": "Europe/Berlin", "daily": "10:00-18:00", "mon": "closed",
                         "fri": "18:00-02:00", "sat": "10:00-13:00, 14:00-22:00"})
    # 2026-12-04 is a Friday; Berlin is UTC+1 in winter.
    assert not schedule.is_open(utc(2026, 12, 4, 12, 0))          # 13:00 Friday: not yet
    assert schedule.is_open(utc(2026, 12, 4, 17, 0))              # 18:00 Friday
    assert schedule.is_open(utc(2026, 12, 5, 0, 30))              # 01:30 Saturday, Friday's span
    assert not schedule.is_open(utc(2026, 12, 5, 1, 0))           # 02:00 Saturday: closed
    assert not schedule.is_open(utc(2026, 12, 5, 12, 30))         # 13:30 Saturday: the lunch break
    assert not schedule.is_open(utc(2026, 12, 7, 10, 0))          # Monday closed
    assert schedule.is_open(utc(2026, 12, 8, 9, 0))               # Tuesday 10:00, daily
    change = schedule.next_change(utc(2026, 12, 7, 10, 0))
    assert (change.kind, change.at) == (OPEN, utc(2026, 12, 8, 9, 0))


def test_mistakes_name_their_key():
    with pytest.raises(ScheduleError) as caught:
        Schedule({"timezone": "Mars/Olympus", "tue": "10-18", "fri": 9, "sundays": "closed",
                  "scenes": [{"at": "25:00", "scene": "x"}, {"scene": "y"}]})
    keys = [key for key, _ in caught.value.problems]
    assert keys == ["sundays", "timezone", "tue", "fri", "scenes[0]", "scenes[1]"]


def test_a_patch_schedule_names_scenes_it_has(tmp_path):
    from engine.patch import PatchError, load_patch
    patch = tmp_path / "show.toml"
    patch.write_text((REPO / "patches" / "default.toml").read_text()
                     + '\n[schedule]\ndaily = "10:00-18:00"\nscenes = [{ at = "12:00", scene = "gray" }]\n')
    with pytest.raises(PatchError) as caught:
        load_patch(patch)
    assert caught.value.problems == [
        f'{patch}: key "schedule.scenes[0]": no scene \'gray\'; did you mean "grey"?; the patch has: grey, vivid']


def test_spring_forward_a_skipped_time_happens_when_the_clock_jumps_past_it():
    schedule = Schedule({"timezone": "Europe/Berlin", "daily": "01:00-02:30",
                         "scenes": [{"at": "02:30", "scene": "late"}, {"at": "03:30", "scene": "later"}]})
    day = schedule.changes(utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 3, 0))
    # 01:00 CET = 00:00Z opens; 02:30 does not exist: at 03:00 CEST (01:00Z) it closes and
    # "late" is recalled; 03:30 CEST = 01:30Z.
    assert [(c.kind, c.scene, c.at) for c in day] == [
        (OPEN, "", utc(2026, 3, 29, 0, 0)), (CLOSE, "", utc(2026, 3, 29, 1, 0)),
        (SCENE, "late", utc(2026, 3, 29, 1, 0)), (SCENE, "later", utc(2026, 3, 29, 1, 30))]
    assert schedule.is_open(utc(2026, 3, 29, 0, 59)) and not schedule.is_open(utc(2026, 3, 29, 1, 0))


def test_fall_back_a_repeated_time_counts_once_and_the_long_night_is_open_longer():
    schedule = Schedule({"timezone": "Europe/Berlin", "daily": "01:00-04:00",
                         "scenes": [{"at": "02:30", "scene": "twice"}]})
    day = schedule.changes(utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 6, 0))
    # 01:00 CEST = 23:00Z; 02:30 first happens at 00:30Z (CEST), again at 01:30Z (CET): once.
    assert [(c.kind, c.scene, c.at) for c in day] == [
        (OPEN, "", utc(2026, 10, 24, 23, 0)), (SCENE, "twice", utc(2026, 10, 25, 0, 30)),
        (CLOSE, "", utc(2026, 10, 25, 3, 0))]
    assert day[-1].at - day[0].at == timedelta(hours=4)       # three hours of wall clock, four of time


def fake_engine(schedule: dict) -> SimpleNamespace:
    window = SimpleNamespace(node_class=SimpleNamespace(params={"blackout": None}))
    speakers = SimpleNamespace(node_class=SimpleNamespace(params={"mute": None, "gain": None}))
    store = ParamStore()
    store.define({"screen/blackout": ParamSpec(BOOL, False, ""), "sound/mute": ParamSpec(BOOL, False, "")})
    calls: list[str] = []
    return SimpleNamespace(patch=SimpleNamespace(schedule=schedule, nodes={"screen": window, "sound": speakers}),
                           store=store, calls=calls, rest=lambda: calls.append("rest"),
                           wake=lambda: calls.append("wake"))


def test_the_scheduler_blacks_out_silences_restores_and_takes_an_override_until_the_next_change():
    clock = [utc(2026, 12, 8, 8, 59, 58)]           # Tuesday 09:59:58 in Berlin
    engine = fake_engine({"timezone": "Europe/Berlin", "daily": "10:00-18:00",
                          "scenes": [{"at": "10:00", "scene": "morning"}]})
    recalled = []
    scheduler = Scheduler(engine, recalled.append, now=lambda: clock[0])
    engine.store.set("sound/mute", True)           # muted by hand before opening
    scheduler.start()
    assert scheduler.open is False and engine.store.target("screen/blackout") is True
    assert recalled == ["morning"]                 # yesterday's 10:00 scene is the one in effect
    clock[0] += timedelta(seconds=3)
    scheduler.tick()
    assert scheduler.open and recalled == ["morning"] * 2
    assert engine.store.target("screen/blackout") is False and engine.store.target("sound/mute") is True
    scheduler.command("schedule", (0.0,))          # closed by hand over OSC
    clock[0] += timedelta(hours=1)
    scheduler.tick()
    assert scheduler.open is False and engine.store.target("sound/mute") is True
    clock[0] = utc(2026, 12, 8, 17, 0, 1)          # 18:00:01: the scheduled close ends the override
    scheduler.tick()
    assert scheduler.override is None and scheduler.open is False
    scheduler.command("schedule", (1.0,))          # opened by hand for a late event
    scheduler.tick()
    assert scheduler.open and engine.store.target("screen/blackout") is False
    clock[0] = utc(2026, 12, 9, 9, 0, 1)           # next morning: opening on schedule ends it
    scheduler.tick()
    assert scheduler.override is None and scheduler.open and recalled == ["morning"] * 3


def test_in_stop_mode_the_nodes_rest_while_closed_and_a_reload_to_blackout_mode_wakes_them():
    clock = [utc(2026, 12, 8, 16, 59, 58)]          # Tuesday 17:59:58 in Berlin
    engine = fake_engine({"timezone": "Europe/Berlin", "daily": "10:00-18:00", "closed": "stop"})
    scheduler = Scheduler(engine, lambda scene: None, now=lambda: clock[0])
    scheduler.start()
    assert scheduler.open and engine.calls[-1] == "wake"
    clock[0] += timedelta(seconds=3)
    scheduler.tick()
    assert scheduler.open is False and engine.calls[-1] == "rest"
    assert engine.store.target("screen/blackout") is False          # nothing blacked out: nothing runs
    engine.patch.schedule = {"timezone": "Europe/Berlin", "daily": "10:00-18:00"}   # saved: blackout mode
    scheduler.tick()
    assert engine.calls[-1] == "wake" and engine.store.target("screen/blackout") is True
    clock[0] = utc(2026, 12, 9, 9, 0, 1)            # opening: the blackout lifts
    scheduler.tick()
    assert scheduler.open and engine.store.target("screen/blackout") is False


def test_the_closed_mode_is_checked():
    with pytest.raises(ScheduleError) as error:
        Schedule({"daily": "10:00-18:00", "closed": "off"})
    assert error.value.problems[0][0] == "closed" and "stop" in error.value.problems[0][1]


@pytest.mark.parametrize("mode", ["blackout", "stop"])
def test_a_running_engine_follows_its_schedule_and_the_osc_override(tmp_path, mode):
    patch = tmp_path / "show.toml"
    patch.write_text((REPO / "patches" / "default.toml").read_text()
                     + f'\n[schedule]\ndaily = "closed"\nclosed = "{mode}"\n')
    port = free_udp_port()
    run = subprocess.Popen([sys.executable, "-m", "engine", "run", str(patch), "--headless", "--quiet",
                            "--osc-in", str(port), "--output-dir", str(tmp_path / "out"),
                            "--state-dir", str(tmp_path / "state")], cwd=REPO, stderr=subprocess.PIPE, text=True)

    def health() -> dict:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
                    return json.loads(reply.read())
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    try:
        closed = health()
        assert closed["schedule_open"] is False and closed["up"] is True, closed
        assert (closed["fps"] == {}) == (mode == "stop"), closed          # stop mode: no node runs
        from pythonosc.udp_client import SimpleUDPClient
        SimpleUDPClient("127.0.0.1", port).send_message("/tensorstage/schedule", 1.0)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (health()["schedule_open"] and health()["fps"]):
            time.sleep(0.3)
        opened = health()
        assert opened["schedule_open"] is True and opened["fps"], opened
    finally:
        run.terminate()
        _, err = run.communicate(timeout=20)
    what = "nodes stopped" if mode == "stop" else "blackout and silence"
    assert f"schedule: closed ({what}) at start" in err
    assert "schedule: open by hand (OSC)" in err
