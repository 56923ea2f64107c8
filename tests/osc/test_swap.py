"""Swapping a model over OSC: /tensorstage/swap NODE PATH loads the model
beside the running one and crossfades; a bad request is named and ignored."""

import shutil
import socket

import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.osc.address_space import address_space
from engine.osc.bridge import OscBridge, OscConfig
from engine.osc.sender import encode
from engine.patch import PatchError, parse_patch
from tests.conftest import free_udp_port, wait_for
from tests.nodes_for_tests import RECEIVED
from tests.processors.test_model_swap import CONVNET, PATCH


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_model_swapped_over_osc_crossfades_in_and_a_bad_one_is_refused(tmp_path, process):
    second = tmp_path / "second.tflite"
    shutil.copy(CONVNET, second)
    port = free_udp_port()
    patch = parse_patch(PATCH.format(model=CONVNET), path=tmp_path / "patch.toml")   # swaps from its folder
    assert "/tensorstage/swap" in {a.address for a in address_space(patch)}
    eng = Engine(patch, events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=process))
    bridge.start()
    eng.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert wait_for(eng, lambda: len(RECEIVED["out"]) > 10, 10, step=0.005)
        first = eng.runners["style"].node
        client.sendto(encode("/tensorstage/swap", "style", str(second)), ("127.0.0.1", port))
        assert wait_for(eng, lambda: eng.runners["style"].node is not first, 10, step=0.005)
        swapped = eng.runners["style"].node
        assert swapped.model.path == second and swapped.fade.start_us > 0
        received = len(RECEIVED["out"])
        wait_for(eng, lambda: False, 0.5, step=0.005)
        assert len(RECEIVED["out"]) > received + 5                  # the stream went on

        broken = tmp_path / "broken.tflite"
        broken.write_bytes(b"not a model")
        client.sendto(encode("/tensorstage/swap", "style", str(broken)), ("127.0.0.1", port))
        assert wait_for(eng, lambda: any("rejected" in m for m in eng.events.messages("reload")), 10, step=0.005)
        assert eng.runners["style"].node is swapped                 # the working model stays

        client.sendto(encode("/tensorstage/swap", "pattern", str(second)), ("127.0.0.1", port))
        client.sendto(encode("/tensorstage/swap", "nosuch", str(second)), ("127.0.0.1", port))
        wait_for(eng, lambda: bridge.server.counts["bad_args"] >= 2, 5, step=0.005)
        assert bridge.server.by_address["/tensorstage/swap"]["bad_args"] == 2
        messages = eng.events.messages("osc")      # (OSC complaints are rate-limited per address)
        assert any("node 'pattern' (test_pattern) has no model to swap" in m for m in messages), messages
        with pytest.raises(PatchError, match='no node "nosuch"'):
            eng.change_option("nosuch", "path", str(second))
    finally:
        eng.stop()
        bridge.stop()


GENERATOR_PATCH = """
[nodes.gen]
{node}

[nodes.sound]
type = "audio_analysis"
inputs.audio = "gen.audio"

[nodes.out]
type = "test_collect"
inputs.value = "sound.loudness_db"
"""
GENERATORS = {
    "phrase": ('type = "phrase"\nplay = "controls"\nparams.mode = "continue"', "engine.processors.phrase"),
    "sample_rnn": ('type = "sample_rnn"\nparams.texture1 = 1.0', "engine.processors.sample_rnn"),
}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_the_generated_sound_goes_on_through_a_swap_over_osc(tmp_path, kind):
    import importlib
    node_text, module = GENERATORS[kind]
    shipped = importlib.import_module(module).SHIPPED
    second = tmp_path / f"second{shipped.suffix}"
    shutil.copy(shipped, second)
    port = free_udp_port()
    eng = Engine(parse_patch(GENERATOR_PATCH.format(node=node_text), path=tmp_path / "patch.toml"),
                 events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=True))
    bridge.start()
    eng.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert wait_for(eng, lambda: len(RECEIVED.get("out", [])) > 50, 20, step=0.005)
        first = eng.runners["gen"].node
        client.sendto(encode("/tensorstage/swap", "gen", str(second)), ("127.0.0.1", port))
        assert wait_for(eng, lambda: eng.runners["gen"].node is not first, 20, step=0.005), eng.events.messages()
        heard = len(RECEIVED["out"])
        wait_for(eng, lambda: False, 2.0, step=0.005)
        after = [packet.value for packet, _ in RECEIVED["out"][heard:]]
        assert len(after) > 50                                      # the stream went on
        assert max(after) > -60                                     # and it is sound, not silence
        assert not eng.events.messages("error")
    finally:
        eng.stop()
        bridge.stop()
