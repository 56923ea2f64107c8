"""Export the colorization network to LiteRT at a fixed input size: int8
weights with dynamic-range activations (what the CPU runs), and float16.
The file's inputs keep their names (`lightness`, `hints`), which the node's
tensor contract matches."""
from __future__ import annotations

from pathlib import Path


def _frozen(model, size: int):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    @tf.function(input_signature=[tf.TensorSpec((1, size, size, 1), tf.float32, name="lightness"),
                                  tf.TensorSpec((1, size, size, 3), tf.float32, name="hints")])
    def serve(lightness, hints):
        return {"ab": model({"lightness": lightness, "hints": hints}, training=False)}

    return convert_variables_to_constants_v2(serve.get_concrete_function())


def export(model, out_dir: Path, size: int = 256, stem: str = "colorize", suffix: str = "",
           float16: bool = True) -> dict[str, Path]:
    import tensorflow as tf

    from models.colorize.network import build, widths

    fixed = build(size, widths(model))
    fixed.set_weights(model.get_weights())
    function = _frozen(fixed, size)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    if float16:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        paths["float16"] = out_dir / f"{stem}_fp16{suffix}.tflite"
        paths["float16"].write_bytes(converter.convert())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    paths["int8"] = out_dir / f"{stem}_int8{suffix}.tflite"
    paths["int8"].write_bytes(converter.convert())
    return paths
