"""Patch validation: every kind of mistake, and its message word for word."""

import re
from pathlib import Path

import pytest

from engine.patch import bundled_patches
from engine.patch import PatchError, load_patch, parse_patch

GOOD = """
[nodes.ticks]
type = "test_ticks"

[nodes.slow]
type = "test_slow"
inputs.value = "ticks.value"
params.delay_ms = { default = 5.0, max = 100.0, smoothing_s = 0.2 }

[nodes.out]
type = "test_collect"
inputs.value = "slow.value"

[scenes.fast]
slow.delay_ms = 0.0
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "show.toml"
    path.write_text(text)
    with pytest.raises(PatchError) as error:
        load_patch(path)
    return [p.replace(str(path), "show.toml") for p in error.value.problems]


def test_a_good_patch_loads_in_dependency_order(tmp_path):
    path = tmp_path / "show.toml"
    path.write_text(GOOD)
    patch = load_patch(path)
    assert patch.name == "show"
    assert list(patch.nodes) == ["ticks", "slow", "out"]
    assert patch.nodes["slow"].inputs == {"value": ("ticks", "value")}
    spec = patch.nodes["slow"].params["delay_ms"]
    assert (spec.default, spec.min, spec.max, spec.smoothing_s, spec.exposed) == (5.0, 0.0, 100.0, 0.2, True)
    assert patch.scenes == {"fast": {"slow/delay_ms": 0.0}}
    assert list(patch.exposed_params()) == ["slow/delay_ms"]


def test_order_of_nodes_in_the_file_does_not_matter(tmp_path):
    text = GOOD.split("[nodes.out]")[1]
    reordered = "[nodes.out]" + text.split("[scenes")[0] + GOOD.split("[nodes.out]")[0]
    path = tmp_path / "show.toml"
    path.write_text(reordered)
    assert list(load_patch(path).nodes) == ["ticks", "slow", "out"]


def test_unknown_node_type(tmp_path):
    text = GOOD.replace('type = "test_slow"', 'type = "test_slwo"')
    [message] = problems(tmp_path, text)
    assert message.startswith('show.toml: node "slow", key "type": unknown node type \'test_slwo\'; '
                              'did you mean "test_slow"?; known types: ')
    assert "camera" in message and "color_adjust" in message


def test_unknown_option(tmp_path):
    text = GOOD.replace('type = "test_ticks"', 'type = "test_ticks"\nfsp = 30.0')
    assert problems(tmp_path, text) == [
        'show.toml: node "ticks", key "fsp": unknown key for a test_ticks node; did you mean "fps"?; '
        'its options are: fps, label']


def test_a_parameter_written_as_an_option(tmp_path):
    text = GOOD.replace('type = "test_slow"', 'type = "test_slow"\ndelay_ms = 3.0')
    assert problems(tmp_path, text) == [
        'show.toml: node "slow", key "delay_ms": unknown key for a test_slow node; '
        "'delay_ms' is a parameter: set it under [nodes.slow.params]; its options are: none"]


def test_mistyped_option(tmp_path):
    text = GOOD.replace('type = "test_ticks"', 'type = "test_ticks"\nfps = "fast"')
    assert problems(tmp_path, text) == [
        'show.toml: node "ticks", key "fps": expected a number, got the string \'fast\'']


def test_option_out_of_its_range(tmp_path):
    text = '[nodes.pattern]\ntype = "test_pattern"\nwidth = 8\n'
    assert problems(tmp_path, text) == ['show.toml: node "pattern", key "width": 8 is below the minimum 64']


def test_option_not_among_its_choices(tmp_path):
    text = '[nodes.cam]\ntype = "camera"\nfallback = "black"\n'
    assert problems(tmp_path, text) == [
        'show.toml: node "cam", key "fallback": \'black\' is not one of: test_pattern, none']


def test_missing_connection(tmp_path):
    text = GOOD.replace('inputs.value = "slow.value"\n', "")
    assert problems(tmp_path, text) == [
        'show.toml: node "out", key "inputs.value": input \'value\' (any) is not connected; '
        'connect it with inputs.value = "node.port"']


def test_dangling_connection_to_a_missing_node(tmp_path):
    text = GOOD.replace('"ticks.value"', '"tick.value"')
    assert problems(tmp_path, text) == [
        'show.toml: node "slow", key "inputs.value": "tick.value" names no node; did you mean "ticks"?; '
        'nodes are: ticks, slow, out']


def test_dangling_connection_to_a_missing_port(tmp_path):
    text = GOOD.replace('"ticks.value"', '"ticks.audio"')
    assert problems(tmp_path, text) == [
        'show.toml: node "slow", key "inputs.value": node \'ticks\' (a test_ticks) has no output '
        "'audio'; its outputs are: value, frame"]


def test_connection_to_an_input_the_node_does_not_have(tmp_path):
    text = GOOD.replace('inputs.value = "ticks.value"', 'inputs.value = "ticks.value"\ninputs.video = "ticks.frame"')
    assert problems(tmp_path, text) == [
        'show.toml: node "slow", key "inputs.video": a test_slow node has no input \'video\'; '
        'its inputs are: value']


def test_port_type_mismatch(tmp_path):
    text = """
[nodes.ticks]
type = "test_ticks"
[nodes.color]
type = "color_adjust"
inputs.video = "ticks.value"
"""
    assert problems(tmp_path, text) == [
        'show.toml: node "color", key "inputs.video": port type mismatch: "ticks.value" carries control, '
        "input 'video' takes video"]


def test_cycle(tmp_path):
    text = """
[nodes.a]
type = "test_slow"
inputs.value = "c.value"
[nodes.b]
type = "test_slow"
inputs.value = "a.value"
[nodes.c]
type = "test_slow"
inputs.value = "b.value"
[nodes.out]
type = "test_collect"
inputs.value = "c.value"
"""
    assert problems(tmp_path, text) == [
        'show.toml: node "a", key "inputs": connections form a cycle: a -> b -> c -> a']


def test_parameter_default_out_of_range(tmp_path):
    text = GOOD.replace("default = 5.0", "default = 500.0")
    assert problems(tmp_path, text) == [
        'show.toml: node "slow", key "params.delay_ms.default": 500.0 is outside the range [0, 100]']


def test_parameter_range_wider_than_the_node_accepts(tmp_path):
    text = GOOD.replace("max = 100.0", "max = 5000.0")
    assert problems(tmp_path, text) == [
        'show.toml: node "slow", key "params.delay_ms.min": range [0, 5000] goes beyond what the node '
        'accepts [0, 1000]']


def test_unknown_parameter(tmp_path):
    text = GOOD.replace("params.delay_ms", "params.delay")
    assert problems(tmp_path, text)[0] == (
        'show.toml: node "slow", key "params.delay": a test_slow node has no parameter \'delay\'; '
        'did you mean "delay_ms"?; its parameters are: delay_ms')


def test_scene_value_out_of_range_and_scene_of_unexposed_parameter(tmp_path):
    text = GOOD.replace("slow.delay_ms = 0.0", "slow.delay_ms = -1.0\nout.level = 2")
    assert problems(tmp_path, text) == [
        'show.toml: key "scenes.fast.slow.delay_ms": -1.0 is outside the range [0, 100]',
        'show.toml: key "scenes.fast.out.level": a scene can only set exposed parameters; '
        'exposed are: slow.delay_ms']


def test_every_mistake_is_reported_at_once(tmp_path):
    text = GOOD.replace('type = "test_ticks"', 'type = "test_ticks"\nfps = "x"').replace(
        "default = 5.0", "default = 500.0")
    assert len(problems(tmp_path, text)) == 2


def test_toml_syntax_error_names_the_line(tmp_path):
    [message] = problems(tmp_path, GOOD.replace('type = "test_slow"', "type = test_slow"))
    assert message.startswith("show.toml: not valid TOML: ")
    assert "line 6" in message


def test_missing_file(tmp_path):
    with pytest.raises(PatchError) as error:
        load_patch(tmp_path / "nowhere.toml")
    assert str(error.value) == f"{tmp_path / 'nowhere.toml'}: no such patch file"


def test_unknown_top_level_key_and_node_without_type(tmp_path):
    assert problems(tmp_path, '[node.a]\ntype = "test_ticks"\n[nodes.b]\nfps = 3\n') == [
        'show.toml: key "node": unknown top-level key; did you mean "nodes"?; a patch has: patch, nodes, scenes, osc, audio, show, schedule',
        'show.toml: node "b", key "type": missing; every node needs a type, one of: ' + ", ".join(
            sorted(__import__("engine.node", fromlist=["node_types"]).node_types())),
    ]


def test_node_names_become_osc_addresses(tmp_path):
    assert problems(tmp_path, '[nodes.My-Cam]\ntype = "test_ticks"\n') == [
        'show.toml: node "My-Cam", key "name": a node name is lower case letters, digits and _, '
        'starting with a letter (it becomes an OSC address)']


@pytest.mark.parametrize("name", sorted(bundled_patches()))
def test_bundled_patches_are_valid_and_say_why_each_node_is_there(name):
    path = bundled_patches()[name]
    load_patch(path)
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\[nodes\.[a-z0-9_]+\]$", line):
            assert lines[i - 1].startswith("#"), f"{path.name}: no comment above {line}"


def test_a_node_can_check_its_options_together(tmp_path):
    assert problems(tmp_path, '[nodes.clip]\ntype = "video_file"\n') == [
        'show.toml: node "clip", key "path": a video_file node needs a path']


def test_engine_address_roots_are_reserved_node_names(tmp_path):
    assert problems(tmp_path, '[nodes.scene]\ntype = "test_ticks"\n') == [
        'show.toml: node "scene", key "name": \'scene\' is reserved for the engine\'s own OSC addresses; '
        'choose another name']


def test_osc_settings_are_checked(tmp_path):
    text = GOOD + '\n[osc]\nlisten = 9000\nsend_to = "127.0.0.1:9001"\nbundel = true\n'
    assert problems(tmp_path, text) == [
        'show.toml: key "osc.send_to": expected a list, got the string \'127.0.0.1:9001\'',
        'show.toml: key "osc.bundel": unknown key; did you mean "bundle"?; [osc] has: listen, send_to, '
        'allow, streams, bundle, heartbeat_s, heartbeat_to, query, process, swap_roots']


def test_audio_settings_are_checked(tmp_path):
    assert problems(tmp_path, GOOD + '\n[audio]\nprocess = "yes"\nprocesss = true\n') == [
        'show.toml: key "audio.process": expected true or false, got the string \'yes\'',
        'show.toml: key "audio.processs": unknown key; did you mean "process"?; [audio] has: process, realtime']
    assert parse_patch(GOOD + '\n[audio]\nprocess = false\n').audio == {"process": False}


def test_connected_audio_ends_must_agree_on_the_format(tmp_path):
    text = """
[nodes.tone]
type = "tone"
sample_rate = 44100
channels = 1

[nodes.speakers]
type = "speakers"
sample_rate = 48000
channels = 2
inputs.audio = "tone.audio"

[nodes.sound]
type = "audio_analysis"
sample_rate = 44100
inputs.audio = "tone.audio"
"""
    # Channels and block adapt at the speakers (mono is copied); the rate cannot.
    assert problems(tmp_path, text) == [
        'show.toml: node "speakers", key "inputs.audio": audio format mismatch: "tone.audio" (tone) gives '
        '44100 Hz, 1 ch, 256-frame blocks; node \'speakers\' (speakers) takes 48000 Hz, any channels, any block '
        '(sample rate 44100 vs 48000 Hz)']
    load_patch_text = text.replace("sample_rate = 48000", "sample_rate = 44100")
    path = tmp_path / "ok.toml"
    path.write_text(load_patch_text)
    assert list(load_patch(path).nodes) == ["tone", "speakers", "sound"]


def test_a_vector_stream_goes_only_where_a_vector_of_its_length_is_taken(tmp_path):
    text = """
[nodes.ticks]
type = "test_ticks"

[nodes.rnn]
type = "sequence_model"
path = "gru.tflite"
y_elements = ["f0_hz", "loudness_db"]
inputs.value = "ticks.value"

[nodes.out]
type = "sequence_model"
path = "gru.tflite"
x_elements = ["a", "b", "c"]
inputs.value = "rnn.value"

[nodes.level]
type = "control_map"
target = "rnn.reset"
inputs.value = "rnn.value"
"""
    assert problems(tmp_path, text) == [
        'show.toml: node "out", key "inputs.value": control format mismatch: "rnn.value" (sequence_model) gives '
        "a vector of 2 (f0_hz, loudness_db); node 'out' (sequence_model) takes a vector of 3 (a, b, c)",
        'show.toml: node "level", key "inputs.value": control format mismatch: "rnn.value" (sequence_model) gives '
        "a vector of 2 (f0_hz, loudness_db); node 'level' (control_map) takes one float"]


def test_a_node_type_that_is_not_a_string_is_named_not_raised(tmp_path):
    text = '[nodes.camera]\ntype = ["camera"]\n'
    [problem] = problems(tmp_path, text)
    assert problem.startswith('show.toml: node "camera", key "type": expected the name of a node type (a string), '
                              "got the list ['camera']")


COLOUR = """
[nodes.pattern]
type = "test_pattern"

[nodes.colorize]
type = "colorize"
inputs.video = "pattern.video"
params.saturation = 1.0

[nodes.out]
type = "test_collect"
inputs.value = "colorize.video"

[scenes.warm]
colorize.saturation = 1.2
{scene}
"""


def test_a_scene_holds_a_nodes_state_as_its_commands_checked_as_osc_would(tmp_path):
    patch = parse_patch(COLOUR.format(scene="colorize.palette = [1, 0.5, 0, 0.1, 0.1, 0.4]\n"
                                            "colorize.hint = [[0.5, 0.2, 1, 1, 0], [0.5, 0.8, 0, 0, 1, 0.1]]"))
    assert patch.scenes == {"warm": {"colorize/saturation": 1.2}}
    assert patch.scene_commands == {"warm": [           # emptied first, so the scene's state replaces the node's
        ("colorize", "clear", ()), ("colorize", "palette", (1.0, 0.5, 0.0, 0.1, 0.1, 0.4)),
        ("colorize", "hint", (0.5, 0.2, 1.0, 1.0, 0.0)), ("colorize", "hint", (0.5, 0.8, 0.0, 0.0, 1.0, 0.1))]}
    assert parse_patch(COLOUR.format(scene="colorize.clear = true")).scene_commands == {
        "warm": [("colorize", "clear", ())]}
    assert problems(tmp_path, COLOUR.format(scene="colorize.palette = [1, 2, 0]\ncolorize.clear = 1\n"
                                                  "colorize.hint = [[0.5, 0.5, 1], [0.1, 0.1, 1, 1, 1]]")) == [
        'show.toml: key "scenes.warm.colorize.palette": g: 2 is outside 0..1',
        'show.toml: key "scenes.warm.colorize.clear": expected true (empty the node\'s state first), '
        'got the integer 1',
        'show.toml: key "scenes.warm.colorize.hint[0]": expected fffff[f] (x, y, r, g, b, radius), '
        'got 3 argument(s)']
