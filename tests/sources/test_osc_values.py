"""OSC values as a control stream: /NODE/set's numbers go out at once, a wrong
count is named and ignored, and a learn node can take them."""

import threading
import time

import numpy as np
import pytest

from engine.harness import NodeHarness
from engine.patch import PatchError, parse_patch


def test_set_goes_out_as_a_vector_stamped_when_it_arrived():
    with NodeHarness("osc_values", options={"values": ["x", "y", "z"]}, name="pose") as h:
        before = time.monotonic_ns() // 1000
        threading.Timer(0.02, lambda: h.node.post_command("set", (0.1, 0.2, 0.3))).start()
        out = h.step()                         # waits for the message, not for a poll
        assert np.allclose(out["value"].value, [0.1, 0.2, 0.3])
        assert out["value"].ts_us >= before
        h.node.post_command("set", (1.0, 2.0))
        assert h.step() == {}
        assert any("/pose/set with 2 number(s), expected 3 (x, y, z): ignored" in m for m in h.events.messages())
        assert h.step() == {}                  # nothing new: nothing out (after the wait)


def test_a_single_value_is_a_float():
    with NodeHarness("osc_values") as h:
        h.node.post_command("set", (0.5,))
        assert h.step()["value"].value == 0.5


def test_values_must_be_named_once():
    with pytest.raises(PatchError, match="a name is given twice"):
        parse_patch('[nodes.pose]\ntype = "osc_values"\nvalues = ["x", "x"]\n')
    with pytest.raises(PatchError, match="expected a list of 1 to 64 names"):
        parse_patch('[nodes.pose]\ntype = "osc_values"\nvalues = []\n')


def test_a_vector_of_osc_values_feeds_a_learn_node_and_a_float_cannot_feed_a_vector_input():
    patch = parse_patch("""
[nodes.pose]
type = "osc_values"
values = ["x", "y"]

[nodes.pattern]
type = "test_pattern"

[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"
params.brightness = 0.0

[nodes.mapping]
type = "learn"
inputs.in1 = "pose.value"
targets = ["color.brightness"]
""")
    assert patch.nodes["mapping"].inputs["in1"] == ("pose", "value")
    with pytest.raises(PatchError, match="control format mismatch"):
        parse_patch("""
[nodes.pose]
type = "osc_values"
values = ["x", "y"]

[nodes.drive]
type = "control_map"
inputs.value = "pose.value"
target = "drive.nothing"
""")


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_values_sent_by_liblo_drive_a_parameter(liblo, process):
    import subprocess

    from engine.events import EventLog
    from engine.graph import Engine
    from engine.osc.bridge import OscBridge, OscConfig
    from tests.conftest import free_udp_port
    from tests.conftest import wait_for

    eng = Engine(parse_patch("""
[nodes.fader]
type = "osc_values"

[nodes.pattern]
type = "test_pattern"

[nodes.color]
type = "color_adjust"
inputs.video = "pattern.video"
params.brightness = { default = 0.0, smoothing_s = 0.0 }

[nodes.drive]
type = "control_map"
inputs.value = "fader.value"
target = "color.brightness"
out_low = -1.0
"""), events=EventLog())
    port = free_udp_port()
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False, process=process))
    bridge.start()
    eng.start()
    try:
        wait_for(eng, lambda: False, 0.3, step=0.005)
        subprocess.run(["oscsend", "127.0.0.1", str(port), "/fader/set", "f", "0.75"], check=True)
        assert wait_for(eng, lambda: eng.store.target("color/brightness") == pytest.approx(0.5), 5, step=0.005)
    finally:
        eng.stop()
        bridge.stop()
