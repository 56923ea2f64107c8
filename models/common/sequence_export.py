"""Writing a stateful sequence model (an RNN step) as a LiteRT file the
engine's sequence runtime (engine/runtime/sequence.py) runs. Offline only:
imports TensorFlow."""

from __future__ import annotations

from pathlib import Path


def export_sequence_model(step, path: Path) -> Path:
    """Write a LiteRT sequence model from a `tf.function` step with an input
    signature (x, state_0, ...) returning {"y": ..., "state_0": ..., ...}:
    weights frozen to constants, then saved with a named signature and
    converted, so the file keeps the x / y / state_k names. Offline only
    (imports TensorFlow)."""
    import tempfile

    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    concrete = step.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    specs = [tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in concrete.structured_input_signature[0]]

    @tf.function(input_signature=specs)
    def serve(*args):
        return tf.nest.pack_sequence_as(concrete.structured_outputs, frozen(*args))

    module = tf.Module()
    module.serve = serve
    with tempfile.TemporaryDirectory() as folder:
        tf.saved_model.save(module, folder, signatures={"serving_default": serve})
        flat = tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    path = Path(path)
    path.write_bytes(flat)
    return path
