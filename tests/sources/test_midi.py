"""The midi node with a real MIDI stack: python-rtmidi on a JACK server
(`jackd -d dummy`, no sound card needed), a virtual output port standing in
for the controller on the desk. This machine has no ALSA sequencer
(/dev/snd/seq), so JACK is the API these tests use."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from engine.events import EventLog
from engine.graph import Engine, PatchWatcher
from engine.patch import load_patch, parse_patch
from tests.conftest import in_child_process, require, wait_for
from tests.nodes_for_tests import RECEIVED

PORT = "ts-test-desk"

PATCH = """
# A tone whose pitch and level the desk sets.
[nodes.tone]
type = "tone"
params.frequency = 440.0
params.level_db = -30.0

# The desk: a knob onto the pitch, a pad onto a scene.
[nodes.desk]
type = "midi"
device = "{port}"
api = "jack"
map = [
  {{ cc = 16, param = "tone.frequency", range = [110, 880], curve = "exp" }},
  {{ note = 36, scene = "low" }},
]

# What the keyboard plays.
[nodes.played]
type = "test_collect"
inputs.value = "desk.pitch_hz"

# The clock from the desk (a DAW sending MIDI clock).
[nodes.beat]
type = "test_collect"
inputs.value = "desk.clock"

[scenes.low]
tone.frequency = 220.0
"""


def jack_running() -> bool:
    return shutil.which("jack_lsp") is not None and subprocess.run(
        ["jack_lsp"], capture_output=True, timeout=10, env={**os.environ, "JACK_NO_START_SERVER": "1"}).returncode == 0


@pytest.fixture(scope="module")
def jack():
    """A JACK server for MIDI: the one running, or a dummy-driver one started here."""
    os.environ["JACK_NO_START_SERVER"] = "1"            # no client starts a server by surprise
    try:
        import rtmidi  # noqa: F401
    except ImportError:
        require(False, "python-rtmidi (pip install python-rtmidi)")
    if jack_running():
        yield
        return
    require(shutil.which("jackd") is not None, "a JACK server (apt install jackd2)")
    server = subprocess.Popen(["jackd", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not jack_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    require(jack_running(), "a JACK server (jackd -d dummy did not start)")
    yield
    server.terminate()
    server.wait(10)


class Desk:
    """A virtual MIDI output port: the controller."""

    def __init__(self) -> None:
        import rtmidi
        self.port = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=PORT)
        self.port.open_virtual_port("knobs")

    def cc(self, number: int, value: int, channel: int = 1) -> None:
        self.port.send_message([0xB0 | (channel - 1), number, value])

    def note(self, number: int, velocity: int = 100) -> None:
        self.port.send_message([0x90, number, velocity])

    def clock(self, beats: int, bpm: float) -> None:
        self.port.send_message([0xFA])                           # start
        step = 60 / bpm / 24
        start = time.monotonic()
        for i in range(beats * 24):
            time.sleep(max(0.0, start + i * step - time.monotonic()))
            self.port.send_message([0xF8])

    def unplug(self) -> None:
        self.port.close_port()
        del self.port


def listening(eng: Engine) -> int:
    return sum("listening to" in m for m in eng.events.messages())


def test_a_controller_drives_parameters_scenes_and_notes_learns_a_control_and_comes_back_after_unplugging(
        jack, tmp_path):
    path = tmp_path / "show.toml"
    path.write_text(PATCH.format(port=PORT))
    desk = Desk()
    eng = Engine(load_patch(path), events=EventLog())
    eng.start()
    watcher = PatchWatcher(eng, load_patch, interval_s=0.1)
    watcher.start()
    frequency = lambda: eng.store.target("tone/frequency")      # noqa: E731
    try:
        assert wait_for(eng, lambda: listening(eng) == 1, 10), eng.events.messages()
        time.sleep(0.2)                                          # JACK connects at its next cycle
        desk.cc(16, 127)
        assert wait_for(eng, lambda: abs(frequency() - 880) < 1e-3, 10), (frequency(), eng.events.messages())
        desk.cc(16, 0)
        assert wait_for(eng, lambda: abs(frequency() - 110) < 1e-3, 10)
        desk.note(36)                                            # the pad: scene "low"
        assert wait_for(eng, lambda: frequency() == 220.0, 10)
        desk.note(69)
        assert wait_for(eng, lambda: RECEIVED.get("played") and abs(RECEIVED["played"][-1][0].value - 440) < 0.01, 10)

        desk.clock(2, 120.0)                                     # two beats of MIDI clock at 120 bpm
        assert wait_for(eng, lambda: RECEIVED.get("beat") and RECEIVED["beat"][-1][0].value[1] == 2.0, 10)
        bpm, beats, phase = RECEIVED["beat"][-1][0].value
        assert 110 < bpm < 130 and phase == 0.0, (bpm, beats, phase)

        # MIDI learn: the next control moved drives the level, and lands in the file.
        eng.command("desk", "learn", ("tone.level_db",))
        assert wait_for(eng, lambda: any("move a control" in m for m in eng.events.messages()), 10)
        desk.cc(21, 127, channel=3)
        low, high = eng.store.specs["tone/level_db"].range
        assert wait_for(eng, lambda: eng.store.target("tone/level_db") == high, 10), eng.events.messages()
        assert "cc = 21" in path.read_text() and 'param = "tone.level_db"' in path.read_text()
        assert wait_for(eng, lambda: listening(eng) == 2, 10), eng.events.messages()     # reloaded: a new node
        time.sleep(0.2)
        desk.cc(21, 0, channel=3)                                # the reloaded node has it from the file
        assert wait_for(eng, lambda: eng.store.target("tone/level_db") == low, 10), eng.events.messages()

        # Unplugged and plugged in again: found again, as a camera is.
        desk.unplug()
        assert wait_for(eng, lambda: any("is gone" in m for m in eng.events.messages()), 10)
        desk = Desk()
        assert wait_for(eng, lambda: listening(eng) == 3, 15), eng.events.messages()
        time.sleep(0.2)
        desk.cc(16, 127)
        assert wait_for(eng, lambda: abs(frequency() - 880) < 1e-3, 10), eng.events.messages()
        assert eng.status()["midi/messages"] >= 1
    finally:
        watcher.stop()
        eng.stop()


WITHOUT = """
[nodes.ticks]
type = "test_ticks"

[nodes.out]
type = "test_collect"
inputs.value = "ticks.value"

[nodes.desk]
type = "midi"
"""


def without_midi_libraries() -> dict:
    import sys
    sys.modules["rtmidi"] = None                # as on a machine where it is not installed
    eng = Engine(parse_patch(WITHOUT), events=EventLog())
    eng.start()
    try:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            eng.step(0.01)
        return {"messages": eng.events.messages(), "received": len(RECEIVED.get("out", []))}
    finally:
        eng.stop()


def test_without_the_midi_libraries_the_node_says_so_once_and_the_show_runs():
    result = in_child_process(without_midi_libraries)
    hints = [m for m in result["messages"] if "pip install" in m]
    assert len(hints) == 1 and "without MIDI" in hints[0], result
    assert result["received"] > 10, result
