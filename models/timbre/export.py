"""The timbre network's one-frame step as a LiteRT sequence model (x, state_0)
-> (y, state_0) for engine/runtime/sequence.py. Float32: the step is a 256-unit
GRU and small dense layers (0.1 ms), int8 would save little time and quantizing
a recurrent state compounds its error frame after frame. Offline only."""
from __future__ import annotations

from pathlib import Path


def export(model, path: Path) -> Path:
    import tensorflow as tf

    from models.common.sequence_export import export_sequence_model
    from models.timbre import network

    features, units = int(model.input_shape[-1]), network.units_of(model)

    @tf.function(input_signature=[tf.TensorSpec((1, features), tf.float32, name="x"),
                                  tf.TensorSpec((1, units), tf.float32, name="state_0")])
    def step(x, state_0):
        y, state = network.step(model, x, state_0)
        return {"y": y, "state_0": state}

    return export_sequence_model(step, Path(path))
