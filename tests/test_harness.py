"""One node at a time, through the same runner the engine uses."""

import pytest

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.params import FLOAT, ParamSpec
from tests.nodes_for_tests import FailingNode, SlowNode, SumNode, TickSource


def test_outputs_keep_the_timestamp_of_the_input_they_answer():
    with NodeHarness(SlowNode) as node:
        for ts in (100, 200, 300):
            assert node.feed(value=Packet(ts / 100, ts))["value"].ts_us == ts
        assert [p.ts_us for p in node.outputs["value"]] == [100, 200, 300]


def test_timestamps_that_go_back_are_dropped_and_counted():
    with NodeHarness(SlowNode) as node:
        node.feed(value=Packet(1.0, 500))
        assert node.feed(value=Packet(2.0, 400)) == {}
        assert node.feed(value=Packet(3.0, 500)) == {}
        assert node.feed(value=Packet(4.0, 501))["value"].value == 4.0
        assert node.stats["out_of_order"] == 2


def test_latest_wins_a_busy_node_drops_stale_packets_and_counts_them():
    with NodeHarness(SlowNode) as node:
        for ts in range(1, 6):
            node.push("value", Packet(float(ts), ts))  # five arrive while the node is busy
        out = node.step()
        assert out["value"].ts_us == 5             # only the newest is processed
        assert node.step() == {}                   # nothing queued behind it
        assert node.stats["dropped"] == 4
        assert node.stats["frames_in"] == 1
        assert node.node.processed == 1


def test_a_raising_node_is_bypassed_its_input_passes_through_and_errors_are_counted():
    with NodeHarness(FailingNode, options={"every": 2}) as node:
        assert node.feed(value=Packet(1.0, 10))["value"].value == 10.0
        out = node.feed(value=Packet(2.0, 20))          # raises
        assert out["value"] == Packet(2.0, 20)          # same type: passed through
        assert out["label"] == Packet("ok 1", 20)       # no input of its type: last good output held
        assert node.feed(value=Packet(3.0, 30))["value"].value == 30.0  # and it recovers
        assert node.stats["errors"] == 1
        assert node.stats["last_error"] == "ValueError: cannot handle 2"
        assert node.events.messages("error") == ["[node] process failed, bypassed: ValueError: cannot handle 2"]


def test_sampled_inputs_do_not_trigger_but_are_handed_over():
    with NodeHarness(SumNode) as node:
        assert node.feed(side=Packet(100.0, 1)) == {}
        assert node.feed(main=Packet(1.0, 2))["value"] == Packet(101.0, 2)
        node.push("side", Packet(200.0, 3))
        node.push("side", Packet(300.0, 4))
        assert node.feed(main=Packet(2.0, 5))["value"].value == 302.0
        assert node.stats["dropped"] == 0  # overwritten samples are not dropped frames


def test_sources_produce_increasing_timestamps():
    with NodeHarness(TickSource, options={"fps": 1000.0}) as node:
        stamps = [node.step()["value"].ts_us for _ in range(20)]
    assert stamps == sorted(set(stamps))


def test_parameters_are_read_smoothed_at_each_process():
    clock_now = [0]
    with NodeHarness(SlowNode, clock=lambda: clock_now[0]) as node:
        node.store.define({"node/delay_ms": ParamSpec(FLOAT, 0.0, "x", min=0.0, max=10.0, smoothing_s=1.0)})
        node.set_param("delay_ms", 10.0)
        clock_now[0] = 500_000
        assert node.node.param["delay_ms"] == pytest.approx(5.0)


def test_audio_inputs_queue_every_block_in_order():
    import numpy as np

    from engine.node import Node, Port
    from engine.packet import AUDIO

    class Passing(Node):
        type_name = "test_audio_pass"
        inputs = (Port("audio", AUDIO),)
        outputs = (Port("audio", AUDIO),)

        def process(self, inputs):
            return {"audio": inputs["audio"]}

    with NodeHarness(Passing) as node:
        for ts in range(1, 6):
            node.push("audio", Packet(np.zeros((4, 1), np.float32), ts))
        assert [node.step()["audio"].ts_us for _ in range(5)] == [1, 2, 3, 4, 5]
        assert node.stats["dropped"] == 0
