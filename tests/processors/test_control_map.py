"""A control stream drives another node's parameter inside a running patch."""

import time

import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.patch import PatchError, parse_patch

PATCH = """
[nodes.tone]
type = "tone"
params.level_db = -20.0

[nodes.sound]
type = "audio_analysis"
inputs.audio = "tone.audio"

[nodes.pattern]
type = "test_pattern"
width = 160
height = 120

[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"
params.brightness = {{ default = 0.0, smoothing_s = 0.0 }}

[nodes.drive]
type = "control_map"
inputs.value = "sound.loudness_db"
target = "{target}"
in_low = -60.0
in_high = 0.0
out_low = -0.5
out_high = 0.5
"""


def run(eng, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        eng.step(0.01)


def test_loudness_drives_a_parameter_through_the_map():
    eng = Engine(parse_patch(PATCH.format(target="color.brightness")), events=EventLog())
    eng.start()
    try:
        run(eng, 1.0)
        # a -20 dBFS tone (RMS of a sine at that peak level is about -23 dB) maps to about 0.1
        value = eng.store.target("color/brightness")
        assert 0.0 < value < 0.25
        eng.store.set("tone/level_db", -60.0, fade_s=0)
        run(eng, 1.0)
        assert eng.store.target("color/brightness") < value - 0.2      # quieter room, darker picture
        assert eng.runners["drive"].node.writes > 10
    finally:
        eng.stop()


def test_an_unknown_target_is_named_when_the_patch_loads():
    with pytest.raises(PatchError, match="node \"drive\", key \"target\": node 'color' has no parameter "
                                         "'brightnes'; did you mean \"brightness\"\\?; its parameters are: "
                                         "brightness, contrast, saturation"):
        parse_patch(PATCH.format(target="color.brightnes"))
    with pytest.raises(PatchError, match="key \"target\": no node 'colour'"):
        parse_patch(PATCH.format(target="colour.brightness"))


def test_a_target_without_a_node_is_refused_when_the_patch_loads():
    with pytest.raises(PatchError, match='node "drive", key "target": name the parameter'):
        parse_patch(PATCH.format(target="brightness"))
