"""A MIDI controller or keyboard (mido on python-rtmidi; engine/midi/).

    [nodes.controller]
    type = "midi"
    device = "nanoKONTROL"            # part of the input port's name; "" takes the first
    map = [
      { cc = 16, param = "style.strength" },
      { cc = 17, param = "tone.frequency", range = [110, 880], curve = "exp" },
      { note = 36, scene = "calm" },
    ]

Its controls drive parameters and scenes through `map` (engine/midi/mapping.py
says how values are shaped); its notes, pitch bend and clock come out as
control streams: `pitch_hz`, `gate`, `velocity` (a keyboard can play a
generator) and `clock` (bpm, beats, beat phase from a MIDI clock).

MIDI learn: `/NODE/learn style.strength` (or `scene:calm`) maps the next
control moved onto that target at once, and writes the entry into the patch
file (the live reload then keeps the show running). A controller unplugged
is looked for every two seconds and taken again when it returns, like a
camera. Without mido and python-rtmidi the node says so once, with the
install hint, and the rest of the show runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

from engine.clock import now_us
from engine.midi.mapping import Entry, fraction_of, parse_map, shaped
from engine.midi.performance import Keyboard, MidiClock
from engine.midi.ports import MidiUnavailable
from engine.node import CommandArg, Node, OscCommand, Option, Port, StatusFigure, register
from engine.packet import CONTROL, Packet, VectorFormat
from engine.params import BOOL, CHOICE, INT, ParamError

WAIT_S = 0.1                  # how long a wait for the next message lasts (the stop is heard within it)
LOOK_S = 2.0                  # how often the open port is looked for among the machine's ports
SCENE_PREFIX = "scene:"
CLOCK_NAMES = ("bpm", "beats", "phase")


class ControllerGone(RuntimeError):
    """The open port is no longer there: the runner reopens with back-off."""


@register
class MidiSource(Node):
    type_name = "midi"
    description = ("A MIDI controller or keyboard: controls drive parameters and scenes (map, MIDI learn); "
                   "notes, bend and clock are control streams.")
    outputs = (Port("pitch_hz", CONTROL, "the held note's pitch with the bend (the last note's after release)"),
               Port("gate", CONTROL, "1 while a note is held, else 0"),
               Port("velocity", CONTROL, "the held note's velocity, 0..1"),
               Port("clock", CONTROL, "a MIDI clock's bpm, beats since start and beat phase (0..1)"))
    options = {
        "device": Option(str, "", "part of the MIDI input port's name (any case); \"\" takes the first there is"),
        "api": Option(str, "auto", "ALSA sequencer or JACK (auto: ALSA where /dev/snd/seq exists)",
                      choices=("auto", "alsa", "jack")),
        "map": Option(list, [], "controls onto parameters and scenes: [{ cc = 16, param = \"style.strength\" }, "
                                "{ note = 36, scene = \"calm\" }] with range, curve and channel optional",
                      refers_to="param"),
    }
    osc_commands = {
        "learn": OscCommand((CommandArg("target", "s"),),
                            "map the next control moved onto node.param (or scene:NAME) and save it in the patch"),
    }
    status_figures = (StatusFigure("midi/messages", "i", "MIDI messages received since start"),
                      StatusFigure("midi/connected", "i", "MIDI inputs open now"))

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        return parse_map(options["map"])[1]

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool) -> VectorFormat | None:
        return VectorFormat(CLOCK_NAMES) if port.name == "clock" else None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entries: list[Entry] = parse_map(self.opts["map"])[0]
        self.arrived = threading.Event()
        self.messages: deque[tuple[Any, int]] = deque(maxlen=4096)
        self.received = 0
        self.port: Any = None
        self.port_name = ""
        self.next_look = 0.0
        self.unavailable = False
        self.learning: str | None = None
        self.keyboard, self.clock = Keyboard(), MidiClock()
        self.last_note: int | None = None
        self.cc_values: dict[tuple[int, int], int] = {}       # (channel, cc) -> value, for scene edges
        self.reported: set[str] = set()

    # Opening, and a controller that comes and goes ------------------------------------
    def open(self) -> None:
        from engine.midi import ports
        try:
            names = ports.input_names(self.opts["api"])
        except MidiUnavailable as missing:
            if not self.unavailable:
                self.unavailable = True
                self.report(f"{missing}; the show runs without MIDI")
            return
        wanted = self.opts["device"]
        name = ports.find_input(names, wanted)
        if name is None:
            raise ControllerGone(f"no MIDI input {'named like ' + repr(wanted) if wanted else 'at all'}; "
                                 f"inputs now: {', '.join(names) or 'none'}")
        self.port = ports.open_input(self.opts["api"], name, self._arrive, client_name=f"tensorstage-{self.name}")
        self.port_name, self.next_look = name, time.monotonic() + LOOK_S
        self.report(f"listening to {name!r}; {len(self.entries)} mapped control(s)")
        self._check_targets()

    def _check_targets(self) -> None:
        params = self.context.params
        for entry in self.entries:
            if entry.scene and params is not None and entry.scene not in params.scenes:
                self._once(f"scene {entry.scene}", f"{entry.describe()} recalls scene {entry.scene!r}, which the "
                           f"patch does not have (yet: /scene/store can make it)")

    def close(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            finally:
                self.port = None

    def _arrive(self, message: Any) -> None:
        # rtmidi's thread: queue and wake `process`, nothing else.
        self.messages.append((message, now_us()))
        self.arrived.set()

    def _look_for_port(self) -> None:
        if time.monotonic() < self.next_look:
            return
        self.next_look = time.monotonic() + LOOK_S
        if not self.port.present(self.port_name):
            raise ControllerGone(f"MIDI input {self.port_name!r} is gone")

    # Running -------------------------------------------------------------------------
    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        self._take_learn_commands()
        if self.unavailable:
            self.stopping.wait(0.5)
            return None
        self._look_for_port()
        if not self.arrived.wait(WAIT_S):
            return None
        self.arrived.clear()
        out: dict[str, Packet] = {}
        while self.messages:
            message, at_us = self.messages.popleft()
            self.received += 1
            self._handle(message, at_us, out)
        return out or None

    def _handle(self, message: Any, at_us: int, out: dict[str, Packet]) -> None:
        kind = message.type
        if kind in ("note_on", "note_off"):
            on = kind == "note_on" and message.velocity > 0
            if on:
                self.keyboard.note_on(message.note, message.velocity)
                self.last_note = message.note
            else:
                self.keyboard.note_off(message.note)
            self._moved("note", message.note, message.channel + 1, message.velocity if on else 0, on)
            self._notes_out(at_us, out)
        elif kind == "control_change":
            self._moved("cc", message.control, message.channel + 1, message.value, None)
        elif kind == "pitchwheel":
            self.keyboard.bend = message.pitch / 8192
            self._moved("bend", 0, message.channel + 1, message.pitch, None)
            self._notes_out(at_us, out)
        elif kind in ("clock", "start", "continue", "stop", "songpos"):
            if kind == "clock":
                self.clock.tick(at_us)
            elif kind == "start":
                self.clock.start()
            elif kind == "continue":
                self.clock.resume()
            elif kind == "stop":
                self.clock.stop()
            else:
                self.clock.song_position(message.pos)
            out["clock"] = Packet(np.array([self.clock.bpm, self.clock.beats, self.clock.phase], np.float32), at_us)

    def _notes_out(self, at_us: int, out: dict[str, Packet]) -> None:
        pitch = self.keyboard.pitch_hz(self.last_note)
        if pitch is not None:
            out["pitch_hz"] = Packet(pitch, at_us)
        out["gate"] = Packet(self.keyboard.gate, at_us)
        out["velocity"] = Packet(self.keyboard.velocity, at_us)

    # The map -------------------------------------------------------------------------
    def _moved(self, source: str, number: int, channel: int, value: int, note_on: bool | None) -> None:
        if self.learning is not None and (source != "note" or note_on):
            self._learn(source, number, channel)
        previous = self.cc_values.get((channel, number), 0) if source == "cc" else None
        if source == "cc":
            self.cc_values[(channel, number)] = value
        for entry in self.entries:
            if entry.matches(source, number, channel):
                self._apply(entry, value, note_on, previous)

    def _apply(self, entry: Entry, value: int, note_on: bool | None, previous: int | None) -> None:
        params = self.context.params
        if entry.scene is not None:
            rising = note_on if note_on is not None else value >= 64 and (previous is None or previous < 64)
            if rising and params is not None:
                try:
                    params.recall(entry.scene)
                except ParamError as error:
                    self._once(f"scene {entry.scene}", f"{entry.describe()}: {error}")
            return
        spec = params.specs.get(entry.key) if params is not None else None
        if spec is None:
            self._once(entry.key, f"{entry.describe()}: no parameter {entry.param!r} in the running patch")
            return
        fraction = (1.0 if note_on else 0.0) if note_on is not None else fraction_of(entry.source, value)
        if spec.type == BOOL:
            written: Any = fraction >= 0.5
        elif spec.type == CHOICE:
            written = spec.choices[min(len(spec.choices) - 1, int(fraction * len(spec.choices)))]
        else:
            low, high = entry.range or spec.range or (0.0, 1.0)
            written = shaped(fraction, low, high, entry.curve)
            if spec.type == INT:
                written = round(written)
        try:
            self.context.set_param(entry.key, written)
        except (KeyError, ParamError) as error:
            self._once(entry.key, f"{entry.describe()} -> {entry.param}: {error}")

    # MIDI learn ----------------------------------------------------------------------
    def _take_learn_commands(self) -> None:
        for name, args in self.take_commands():
            if name == "learn" and self.unavailable:
                self.report("MIDI learn: no MIDI here (mido and python-rtmidi are missing)")
            elif name == "learn":
                self.learning = str(args[0]).strip()
                self.report(f"MIDI learn: move a control for {self.learning}")

    def _learn(self, source: str, number: int, channel: int) -> None:
        target, self.learning = self.learning, None
        entry: dict[str, Any] = {source: True if source == "bend" else number, "channel": channel}
        if target.startswith(SCENE_PREFIX):
            entry["scene"] = target[len(SCENE_PREFIX):]
        else:
            entry["param"] = target
        parsed, problems = parse_map([entry])
        params = self.context.params
        if not problems and parsed[0].key and params is not None and parsed[0].key not in params.specs:
            problems = [("param", f"no parameter {target!r} in the running patch")]
        if problems:
            self.report(f"MIDI learn for {target!r}: {problems[0][1]}")
            return
        kind = "scene" if "scene" in entry else "param"
        self.entries = [e for e in self.entries if getattr(e, kind) != entry[kind]] + parsed
        self.report(f"MIDI learn: {parsed[0].describe()} -> {target}")
        path = self.context.patch_path
        if path is None:
            return
        from engine.midi.patch_file import add_entry
        try:
            add_entry(path, self.name, entry)
            self.report(f"MIDI learn: saved in {path}")
        except Exception as error:  # noqa: BLE001 - a read-only file must not stop the mapping working now
            self.report(f"MIDI learn: could not save the mapping in {path}: {error}")

    # Figures -------------------------------------------------------------------------
    def status(self) -> dict[str, float]:
        return {"midi/messages": self.received, "midi/connected": int(self.port is not None)}

    def _once(self, key: str, message: str) -> None:
        if key not in self.reported:
            self.reported.add(key)
            self.report(message)
