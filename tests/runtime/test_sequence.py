"""A GRU exported stateless runs step by step with the state held outside,
and gives what the Keras GRU gives over the whole sequence."""

import numpy as np
import pytest

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.runtime.backend import ModelError
from engine.runtime.sequence import SequenceModel

UNITS = 8


@pytest.fixture(scope="module")
def gru(tmp_path_factory):
    import keras
    import tensorflow as tf

    from models.common.sequence_export import export_sequence_model

    keras.utils.set_random_seed(0)
    cell = keras.layers.GRUCell(UNITS)
    dense = keras.layers.Dense(1)
    sequence = keras.Sequential([keras.Input((None, 1)), keras.layers.RNN(cell, return_sequences=True),
                                 keras.layers.TimeDistributed(dense)])

    @tf.function(input_signature=[tf.TensorSpec((1, 1), tf.float32, name="x"),
                                  tf.TensorSpec((1, UNITS), tf.float32, name="state_0")])
    def step(x, state_0):
        h, _ = cell(x, [state_0])
        return {"y": dense(h), "state_0": h}

    return sequence, export_sequence_model(step, tmp_path_factory.mktemp("gru") / "gru.tflite")


def test_step_by_step_matches_the_whole_sequence(gru):
    sequence, path = gru
    xs = np.sin(np.linspace(0, 6, 40)).astype(np.float32)
    expected = np.asarray(sequence(xs[None, :, None]))[0, :, 0]
    model = SequenceModel(path)
    got = np.array([model.step(x)[0, 0] for x in xs])
    assert np.allclose(got, expected, atol=1e-4)
    model.reset()
    assert np.isclose(model.step(xs[0])[0, 0], expected[0], atol=1e-5)


def test_the_node_holds_the_state_and_resets_on_a_rising_edge(gru):
    sequence, path = gru
    xs = np.linspace(-1, 1, 12).astype(np.float32)
    expected = np.asarray(sequence(xs[None, :, None]))[0, :, 0]
    with NodeHarness("sequence_model", options={"path": str(path)}, name="rnn") as node:
        outs = [node.feed(value=Packet(float(x), i + 1))["value"].value for i, x in enumerate(xs)]
        assert np.allclose(outs, expected, atol=1e-4)
        node.set_param("reset", True)
        again = node.feed(value=Packet(float(xs[0]), 100))["value"].value
        assert np.isclose(again, expected[0], atol=1e-5)             # a fresh state
        second = node.feed(value=Packet(float(xs[1]), 101))["value"].value
        assert np.isclose(second, expected[1], atol=1e-4)            # held high: no second reset


def test_a_model_without_the_state_contract_is_refused(tmp_path):
    from engine.processors.style import SHIPPED
    with pytest.raises(ModelError, match="a sequence model takes x and state_0"):
        SequenceModel(SHIPPED.with_name("style_int8.tflite"))
    with pytest.raises(ModelError, match="no such model file"):
        SequenceModel(tmp_path / "none.tflite")


def test_a_vector_output_is_declared_sent_as_one_message_and_checked_at_load(gru, tmp_path):
    """y_elements makes the output a named vector: the address space types it
    with one float per element, and a model whose y does not hold that many
    values is refused at load naming the file."""
    from engine.osc.address_space import stream_addresses
    from engine.patch import parse_patch
    _, path = gru
    patch = parse_patch(f'[nodes.t]\ntype = "test_ticks"\n[nodes.rnn]\ntype = "sequence_model"\npath = "{path}"\n'
                        'y_elements = ["f0_hz", "loudness_db"]\ninputs.value = "t.value"\n')
    [address] = [a for a in stream_addresses(patch) if a.address == "/rnn/value"]
    assert address.type_tag == "ff" and "[f0_hz, loudness_db]" in address.description
    node = NodeHarness("sequence_model", options={"path": str(path), "y_elements": ["f0_hz", "loudness_db"]},
                       name="rnn")
    assert node.open() is False
    [message] = node.events.messages("error")
    assert f"{path}: y holds 1 values [1, 1]; the patch declares 2" in message
