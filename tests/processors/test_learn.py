"""The learn node: record poses with the parameters set by hand, train, run; the
mapping drives numbers, choices and scenes within range, and survives a restart."""

import json
import re
import time

import pytest

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.params import BOOL, CHOICE, FLOAT, ParamSpec

TARGETS = {
    "style/strength": ParamSpec(FLOAT, 0.5, "", min=0.0, max=1.0),
    "style/painting": ParamSpec(CHOICE, "wave", "", choices=("wave", "scream", "mosaic")),
    "trail/on": ParamSpec(BOOL, False, ""),
    "trail/decay": ParamSpec(FLOAT, 0.5, ""),                 # no range
}
POSE_A, POSE_B = (0.1, [0.0, 0.2]), (0.9, [1.0, 0.8])


def make(tmp_path, targets, **options):
    h = NodeHarness("learn", name="mapping", connected=("in1", "in2"),
                    options={"targets": targets, "file": str(tmp_path / "show.mapping.learn.json"),
                             "record_hz": 120.0, **options},
                    params={"smoothing_s": 0.0, "hold_s": 0.0})
    h.store.define({**h.store.specs, **TARGETS})
    h.store.scenes = {"calm": {"style/strength": 0.1}, "storm": {"style/strength": 0.9}}
    return h


def feed(h, pose, seconds=0.0):
    """Feed a pose once, or for `seconds` at about 200 frames a second."""
    end = time.monotonic() + seconds
    while True:
        h.feed(in1=Packet(pose[0], time.monotonic_ns() // 1000), in2=Packet(list(pose[1]), 0))
        if time.monotonic() >= end:
            return
        time.sleep(0.005)


def command(h, name, *args):
    h.node.post_command(name, args)
    h.runner.idle()


def record(h, pose, **values):
    for key, value in values.items():
        if key == "scene":
            h.store.recall(value)
        else:
            h.store.set(key.replace("__", "/"), value, fade_s=0)
    command(h, "record")
    feed(h, pose, 0.3)
    command(h, "stop")


def trained(h):
    command(h, "train")
    return finished(h)


def finished(h, timeout=30):
    """The mapping once the training under way is done."""
    end = time.monotonic() + timeout
    while h.node.training is not None and time.monotonic() < end:
        time.sleep(0.05)
        h.runner.idle()
    return h.node.examples.mapping


def test_record_train_run_drives_a_number_within_its_range(tmp_path):
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    try:
        record(h, POSE_A, style__strength=0.2)
        record(h, POSE_B, style__strength=0.8)
        # At most 120 a second for 0.3 s, twice; the feeder itself may run slow on a loaded machine.
        assert 10 < len(h.node.examples.rows) < 80
        assert h.node.status()["learn/examples"] == len(h.node.examples.rows)
        h.store.set("style/strength", 0.5, fade_s=0)
        mapping = trained(h)
        assert mapping is not None and mapping.error < 0.05
        assert h.store.target("style/strength") == 0.5            # training alone sets nothing
        assert any(re.search(r"trained on \d+ examples in \d+\.\d s", m) for m in h.events.messages())
        command(h, "run")
        assert h.node.status()["learn/state"] == 3
        feed(h, POSE_B, 0.05)
        assert h.store.target("style/strength") == pytest.approx(0.8, abs=0.05)
        feed(h, POSE_A, 0.05)
        assert h.store.target("style/strength") == pytest.approx(0.2, abs=0.05)
        feed(h, (40.0, [50.0, -50.0]), 0.05)                   # far outside what was shown
        assert 0.0 <= h.store.target("style/strength") <= 1.0
        saved = json.loads((tmp_path / "show.mapping.learn.json").read_text())
        assert saved["mapping"]["number_models"] in (["ridge"], ["mlp"])
        assert saved["inputs"][0] == {"port": "in1", "from": "test.in1", "size": 1}
    finally:
        h.close()


def test_choices_bools_and_scenes_are_labels_that_change_after_they_hold(tmp_path):
    h = make(tmp_path, ["style.painting", "trail.on", "scene"])
    assert h.open()
    try:
        record(h, POSE_A, style__painting="wave", trail__on=False, scene="calm")
        record(h, POSE_B, style__painting="mosaic", trail__on=True, scene="storm")
        mapping = trained(h)
        assert mapping.label_errors == [0.0, 0.0, 0.0]
        h.store.recall("calm")
        h.store.set("style/painting", "wave")
        h.store.set("trail/on", False)
        h.set_param("hold_s", 0.1)
        command(h, "run")
        feed(h, POSE_B)
        assert h.store.target("style/painting") == "wave"          # not yet: the answer must hold
        feed(h, POSE_B, 0.2)
        assert h.store.target("style/painting") == "mosaic" and h.store.target("trail/on") is True
        assert h.store.last_scene == "storm" and h.store.target("style/strength") == 0.9
        feed(h, POSE_A, 0.2)
        assert h.store.last_scene == "calm" and h.store.target("style/painting") == "wave"
    finally:
        h.close()


def test_without_a_mapping_or_after_a_failed_training_the_parameters_are_left_alone(tmp_path):
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    try:
        command(h, "run")
        assert h.node.state == 0 and any("no trained mapping" in m for m in h.events.messages())
        command(h, "record", 0.01)
        feed(h, POSE_A, 0.05)                                  # a take of SECONDS ends by itself
        assert h.node.state == 0 and 1 <= len(h.node.examples.rows) <= 3
        h.node.examples.rows = h.node.examples.rows[:1]
        assert trained(h) is None
        assert any("training failed: 1 example(s)" in m for m in h.events.messages())
        feed(h, POSE_B, 0.05)
        assert h.store.target("style/strength") == 0.5
    finally:
        h.close()


def test_run_during_training_runs_when_it_is_done_and_a_poor_mapping_earns_a_hint(tmp_path):
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    try:
        record(h, POSE_A, style__strength=0.1)
        record(h, POSE_A, style__strength=0.9)                 # the same pose, opposite values
        record(h, POSE_B, style__strength=0.5)
        h.node.post_command("train", ())
        h.node.post_command("run", ())
        h.runner.idle()
        assert h.node.status()["learn/state"] == 2
        assert finished(h) is not None and h.node.state == 3
        messages = h.events.messages()
        assert any("running as soon as the training is done" in m for m in messages)
        assert any("hardly tell these apart" in m for m in messages)
    finally:
        h.close()


def test_a_trained_mapping_plays_after_a_restart_and_delete_and_clear_are_saved(tmp_path):
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    record(h, POSE_A, style__strength=0.1)
    record(h, POSE_B, style__strength=0.9)
    assert trained(h) is not None
    h.close()

    again = make(tmp_path, ["style.strength"])              # start = "run" by default
    assert again.open()
    try:
        assert again.node.state == 3
        feed(again, POSE_B, 0.05)
        assert again.store.target("style/strength") == pytest.approx(0.9, abs=0.05)
        before = len(again.node.examples.rows)
        command(again, "delete_last")
        saved = json.loads((tmp_path / "show.mapping.learn.json").read_text())
        assert 0 < len(saved["examples"]) < before and {r["take"] for r in saved["examples"]} == {1}
        command(again, "clear")
        saved = json.loads((tmp_path / "show.mapping.learn.json").read_text())
        assert saved["examples"] == [] and saved["mapping"] is None and again.node.state == 0
    finally:
        again.close()


def test_a_broken_or_foreign_file_is_moved_aside_not_overwritten(tmp_path):
    path = tmp_path / "show.mapping.learn.json"
    path.write_text("{broken")
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    h.close()
    assert (tmp_path / "show.mapping.learn.json.old").read_text() == "{broken"
    assert any("cannot read it" in m and "moved it to" in m for m in h.events.messages())

    h = make(tmp_path, ["style.strength"])
    assert h.open()
    record(h, POSE_A, style__strength=0.1)
    h.close()
    other = make(tmp_path, ["style.painting"])
    assert other.open()
    other.close()
    assert any("recorded for targets ['style.strength']" in m for m in other.events.messages())
    assert json.loads((tmp_path / "show.mapping.learn.json.old").read_text())["targets"] == ["style.strength"]


def test_inputs_that_changed_shape_stop_recording_and_say_so(tmp_path):
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    try:
        record(h, POSE_A, style__strength=0.1)
        count = len(h.node.examples.rows)
        command(h, "record")
        feed(h, (0.5, [1.0, 2.0, 3.0]), 0.1)                   # in2 now carries 3 values
        assert len(h.node.examples.rows) == count
        assert any("in2 (test.in2, 3 values)" in m and "/mapping/clear" in m for m in h.events.messages())
    finally:
        h.close()


@pytest.mark.parametrize("targets, why", [
    (["trail.decay"], "has no range"),
    (["style.nosuch"], "no parameter 'style.nosuch'"),
])
def test_a_target_that_cannot_be_learned_is_named(tmp_path, targets, why):
    h = make(tmp_path, targets)
    assert not h.open()
    assert why in h.stats["last_error"]


def test_an_input_that_never_sends_reads_as_zero_after_a_while(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.processors.learn.MISSING_AFTER_S", 0.1)
    h = make(tmp_path, ["style.strength"])
    assert h.open()
    try:
        command(h, "record")
        h.feed(in1=Packet(0.5, 1))
        assert not h.node.examples.rows                      # in2 may still come
        time.sleep(0.12)
        h.feed(in1=Packet(0.5, 2))
        assert h.node.examples.rows[-1]["x"] == [0.5, 0.0]
        assert any("in2 (test.in2) has sent nothing" in m for m in h.events.messages())
    finally:
        h.close()


LOOP_PATCH = """
[nodes.tone]
type = "tone"
params.level_db = {{ default = -40.0, smoothing_s = 0.0 }}
params.frequency = {{ default = 220.0, smoothing_s = 0.0 }}

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
params.contrast = {{ default = 1.0, smoothing_s = 0.0 }}

[nodes.mapping]
type = "learn"
inputs.in1 = "sound.loudness_db"
inputs.in2 = "sound.pitch_hz"
targets = ["color.brightness", "scene"]
run_hz = {run_hz}
params.smoothing_s = 0.0
params.hold_s = 0.1

[scenes.calm]
color.contrast = 0.9

[scenes.loud]
color.contrast = 1.4
"""


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_the_record_train_run_loop_driven_over_osc_in_a_running_patch(tmp_path, liblo, process):
    import subprocess

    from engine.events import EventLog
    from engine.graph import Engine
    from engine.osc.bridge import OscBridge, OscConfig
    from engine.patch import parse_patch
    from tests.conftest import free_udp_port
    from tests.conftest import wait_for

    path = tmp_path / "loop.toml"
    path.write_text(LOOP_PATCH.format(run_hz=60.0))
    port, heard = free_udp_port(), free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(heard)], stdout=subprocess.PIPE, text=True)

    def send(address, *args):
        tags = "".join("s" if isinstance(a, str) else "f" for a in args)
        subprocess.run(["oscsend", "127.0.0.1", str(port), address, tags, *map(str, args)], check=True)

    def start():
        eng = Engine(parse_patch(path.read_text(), path=path), events=EventLog())
        bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), send_to=[("127.0.0.1", heard)],
                                          streams=(), heartbeat_s=0.2, query=False, process=process))
        bridge.start()
        eng.start()
        return eng, bridge

    eng, bridge = start()
    try:
        def node():
            return eng.runners["mapping"].node

        for level, brightness, scene in ((-40.0, -0.3, "calm"), (-10.0, 0.4, "loud")):
            send("/tone/level_db", level)
            send("/color/brightness", brightness)
            send("/scene/recall", scene)
            wait_for(eng, lambda: False, 0.3, step=0.005)               # the loudness settles
            send("/mapping/record", 0.6)
            assert wait_for(eng, lambda: node().state == 1, 5, step=0.005)
            assert wait_for(eng, lambda: node().state == 0, 5, step=0.005)
        assert len(node().examples.rows) >= 8
        send("/mapping/train")
        assert wait_for(eng, lambda: node().examples.mapping is not None, 30, step=0.005)
        send("/color/brightness", 0.0)
        send("/mapping/run")
        assert wait_for(eng, lambda: node().state == 3, 5, step=0.005)
        send("/tone/level_db", -40.0)
        assert wait_for(eng, lambda: abs(eng.store.target("color/brightness") + 0.3) < 0.05, 5, step=0.005)
        assert wait_for(eng, lambda: eng.store.last_scene == "calm", 5, step=0.005)
        send("/tone/level_db", -10.0)
        assert wait_for(eng, lambda: abs(eng.store.target("color/brightness") - 0.4) < 0.05, 5, step=0.005)
        assert wait_for(eng, lambda: eng.store.last_scene == "loud"
                        and eng.store.target("color/contrast") == 1.4, 5, step=0.005)
        assert eng.status()["learn/state"] == 3 and eng.status()["learn/examples"] == len(node().examples.rows)

        # A live reload that rebuilds the node keeps the examples, the mapping and the state.
        before = node()
        path.write_text(LOOP_PATCH.format(run_hz=30.0))
        eng.reload(parse_patch(path.read_text(), path=path))
        assert wait_for(eng, lambda: node() is not before, 10, step=0.005)
        assert node().state == 3 and node().examples.mapping is before.examples.mapping
        send("/tone/level_db", -40.0)
        assert wait_for(eng, lambda: abs(eng.store.target("color/brightness") + 0.3) < 0.05, 5, step=0.005)
    finally:
        eng.stop()
        bridge.stop()

    # A restart: the mapping saved beside the patch drives the parameters at once.
    eng, bridge = start()
    try:
        assert wait_for(eng, lambda: eng.runners["mapping"].node.state == 3, 5, step=0.005)
        send("/tone/level_db", -10.0)
        assert wait_for(eng, lambda: abs(eng.store.target("color/brightness") - 0.4) < 0.05, 5, step=0.005)
    finally:
        eng.stop()
        bridge.stop()
        dump.terminate()
    heartbeat = dump.communicate(timeout=5)[0]
    assert "/tensorstage/learn/state i 3" in heartbeat and "/tensorstage/learn/examples i" in heartbeat
    assert (tmp_path / "loop.mapping.learn.json").exists()


@pytest.mark.parametrize("model, where", [
    ('"linear"', 'key "model": \'linear\' is not one of: auto, ridge, mlp'),
    ('{ "color.brightness" = "tree" }', 'key "model.color.brightness": \'tree\' is not one of'),
    ('{ "color.contrast" = "mlp" }', 'key "model.color.contrast": \'color.contrast\' is not one of the targets'),
])
def test_a_wrong_model_choice_is_named(model, where):
    from engine.patch import PatchError, parse_patch
    with pytest.raises(PatchError) as error:
        parse_patch(f"""
[nodes.pattern]
type = "test_pattern"

[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"

[nodes.look]
type = "video_analysis"
inputs.video = "pattern.video"

[nodes.mapping]
type = "learn"
inputs.in1 = "look.motion"
targets = ["color.brightness"]
model = {model}
""")
    assert where in str(error.value)
