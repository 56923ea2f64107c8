"""The phrase network's one-frame step as a LiteRT sequence model (x, state_0)
-> (y, state_0), y the 77 logits. Float32, as the timbre step. Offline only."""
from __future__ import annotations

from pathlib import Path


def export(model, path: Path) -> Path:
    import tensorflow as tf

    from engine.runtime.phrase import INPUTS
    from models.common.sequence_export import export_sequence_model
    from models.phrase import network

    units = network.units_of(model)

    @tf.function(input_signature=[tf.TensorSpec((1, INPUTS), tf.float32, name="x"),
                                  tf.TensorSpec((1, units), tf.float32, name="state_0")])
    def step(x, state_0):
        y, state = network.step(model, x, state_0)
        return {"y": y, "state_0": state}

    return export_sequence_model(step, Path(path))
