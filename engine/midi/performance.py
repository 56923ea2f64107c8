"""What a keyboard and a MIDI clock say, as numbers a patch can use: the note
held (last one pressed wins, as on a monophonic synth), its pitch with the
bend, the gate and velocity; and the clock's tempo and beat position."""

from __future__ import annotations

import statistics
from collections import deque

TICKS_PER_BEAT = 24          # MIDI clock: 24 pulses a quarter note
BEND_SEMITONES = 2.0         # the usual wheel range, up and down


def note_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


class Keyboard:
    def __init__(self) -> None:
        self.held: list[tuple[int, int]] = []      # (note, velocity), oldest first
        self.bend = 0.0                             # -1..1

    def note_on(self, note: int, velocity: int) -> None:
        if velocity == 0:                           # running status: a note-on at 0 is a note-off
            self.note_off(note)
            return
        self.held = [h for h in self.held if h[0] != note] + [(note, velocity)]

    def note_off(self, note: int) -> None:
        self.held = [h for h in self.held if h[0] != note]

    @property
    def gate(self) -> float:
        return 1.0 if self.held else 0.0

    @property
    def velocity(self) -> float:
        return self.held[-1][1] / 127 if self.held else 0.0

    def pitch_hz(self, last_note: int | None) -> float | None:
        """The held note's pitch with the bend; after release the last one's (a
        synth's release still sounds at it); None before any note."""
        note = self.held[-1][0] if self.held else last_note
        return None if note is None else note_hz(note + self.bend * BEND_SEMITONES)


class MidiClock:
    """Tempo from the pulses' spacing (the median of the last beat's, so one
    late pulse does not move it) and the position from start, continue, stop
    and song position."""

    def __init__(self) -> None:
        self.ticks = 0
        self.running = False
        self.last_us: int | None = None
        self.intervals: deque[int] = deque(maxlen=TICKS_PER_BEAT)

    def tick(self, at_us: int) -> None:
        if self.last_us is not None and 0 < at_us - self.last_us < 1_000_000:
            self.intervals.append(at_us - self.last_us)
        self.last_us = at_us
        if self.running:
            self.ticks += 1

    def start(self) -> None:
        self.ticks, self.running = 0, True

    def resume(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def song_position(self, sixteenths: int) -> None:
        self.ticks = sixteenths * TICKS_PER_BEAT // 4

    @property
    def bpm(self) -> float:
        if len(self.intervals) < 2:
            return 0.0
        return 60e6 / (statistics.median(self.intervals) * TICKS_PER_BEAT)

    @property
    def beats(self) -> float:
        return self.ticks / TICKS_PER_BEAT

    @property
    def phase(self) -> float:
        return (self.ticks % TICKS_PER_BEAT) / TICKS_PER_BEAT
