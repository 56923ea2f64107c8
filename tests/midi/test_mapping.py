import math

import pytest

from engine.midi.mapping import fraction_of, parse_map, shaped
from engine.midi.performance import Keyboard, MidiClock, note_hz


def test_a_map_reads_every_kind_of_entry():
    entries, problems = parse_map([
        {"cc": 16, "param": "style.strength"},
        {"cc": 17, "param": "tone.frequency", "range": [110, 880], "curve": "exp", "channel": 2},
        {"note": 36, "scene": "calm"},
        {"bend": True, "param": "tone.frequency"},
    ])
    assert problems == []
    assert [(e.source, e.number, e.channel) for e in entries] == [("cc", 16, None), ("cc", 17, 2),
                                                                   ("note", 36, None), ("bend", 0, None)]
    assert entries[0].key == "style/strength" and entries[2].scene == "calm" and entries[1].range == (110.0, 880.0)
    assert entries[1].matches("cc", 17, 2) and not entries[1].matches("cc", 17, 1)
    assert entries[0].matches("cc", 16, 9) and entries[3].matches("bend", 0, 5)


@pytest.mark.parametrize("entry, key, words", [
    ({"cc": 200, "param": "a.b"}, "map[0].cc", "0-127"),
    ({"cc": 1, "note": 2, "param": "a.b"}, "map[0]", "exactly one of cc"),
    ({"cc": 1}, "map[0]", "exactly one of param"),
    ({"cc": 1, "param": "strength"}, "map[0].param", "node.param"),
    ({"cc": 1, "param": "a.b", "channel": 0}, "map[0].channel", "1-16"),
    ({"cc": 1, "param": "a.b", "curve": "cubic"}, "map[0].curve", "linear, exp, log"),
    ({"cc": 1, "param": "a.b", "range": [0, 1], "curve": "exp"}, "map[0].range", "above 0"),
    ({"cc": 1, "param": "a.b", "range": [1]}, "map[0].range", "[low, high]"),
    ({"bend": 1, "param": "a.b"}, "map[0].bend", "bend = true"),
    ({"cc": 1, "param": "a.b", "knob": 3}, "map[0]", "unknown key"),
])
def test_a_wrong_entry_is_named_with_its_key(entry, key, words):
    entries, problems = parse_map([entry])
    assert entries == [] and problems[0][0] == key and words in problems[0][1], problems


def test_curves_shape_the_control_into_the_range():
    assert shaped(0.5, 0.0, 10.0, "linear") == 5.0
    assert math.isclose(shaped(0.5, 110.0, 880.0, "exp"), math.sqrt(110 * 880))      # equal ratios
    assert math.isclose(shaped(0.0, 110.0, 880.0, "exp"), 110.0) and math.isclose(shaped(1.0, 110.0, 880.0, "exp"), 880.0)
    assert shaped(0.5, 110.0, 880.0, "log") > shaped(0.5, 110.0, 880.0, "linear") > shaped(0.5, 110.0, 880.0, "exp")
    assert shaped(1.5, 0.0, 1.0, "linear") == 1.0
    assert fraction_of("cc", 127) == 1.0 and fraction_of("bend", -8192) == 0.0 and fraction_of("bend", 8191) == 1.0


def test_the_keyboard_plays_the_last_note_held_and_bends_it():
    keys = Keyboard()
    assert keys.pitch_hz(None) is None and keys.gate == 0.0
    keys.note_on(69, 127)
    keys.note_on(72, 64)
    assert math.isclose(keys.pitch_hz(72), note_hz(72)) and math.isclose(keys.velocity, 64 / 127)
    keys.note_off(72)
    assert math.isclose(keys.pitch_hz(72), 440.0)                     # back to the note still held
    keys.bend = 1.0
    assert math.isclose(keys.pitch_hz(69), note_hz(71))               # a whole tone up
    keys.note_on(69, 0)                                                # a note-on at 0 releases
    assert keys.gate == 0.0 and math.isclose(keys.pitch_hz(69), note_hz(71))


def test_the_midi_clock_gives_tempo_and_beat_position():
    clock = MidiClock()
    clock.start()
    step_us = int(60e6 / 120 / 24)                                     # 120 bpm
    for i in range(24 * 3 + 6):
        clock.tick(i * step_us + (3000 if i == 40 else 0))             # one late pulse does not move it
    assert abs(clock.bpm - 120) < 0.5
    assert clock.beats == pytest.approx(3.25) and clock.phase == pytest.approx(0.25)
    clock.stop()
    clock.tick(10**8)
    assert clock.beats == pytest.approx(3.25)
    clock.song_position(8)                                             # 8 sixteenths: beat 2
    assert clock.beats == 2.0
