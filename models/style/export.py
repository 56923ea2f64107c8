"""Export a trained style network to LiteRT: int8 (the CPU path) and float16
(half the file; no faster on x86), at a fixed input size.

Two int8 recipes, measured on the shipped model against its float32 self on
held-out photos (docs/BENCHMARKS.md):
- `dynamic` (what ships): int8 weights, activations quantized on the fly by
  XNNPACK's int8 kernels; float in and out. 45 dB, 4.8 ms at 256x256 on one thread.
- `static`: everything int8 with ranges calibrated on training crops (never the
  held-out photos), each with a one-hot style or a blend of two; uint8 RGB and
  style weights (x 255) in, uint8 out. 4.0 ms but 23 dB: the instance norm's
  subtract / scale / shift and the residual adds do not survive one per-tensor
  scale once the styles are sharp.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np



def _signature(model, size: int, num_styles: int):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((1, size, size, 3), tf.float32, name="image"),
                                  tf.TensorSpec((1, num_styles), tf.float32, name="style")])
    def serve(image, style):
        return {"rgb": model({"image": image, "style": style}, training=False)}

    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # Weights frozen into constants: the converter otherwise keeps resource
    # variables, which the int8 calibrator cannot read.
    return convert_variables_to_constants_v2(serve.get_concrete_function())


def _calibration(crops: np.ndarray, num_styles: int, count: int, image_first: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = crops[i % len(crops)][None].astype(np.float32) / 255
        weights = np.zeros((1, num_styles), np.float32)
        a, b = rng.integers(0, num_styles, 2)
        t = rng.random() if i % 2 else 1.0
        weights[0, a] += t
        weights[0, b] += 1 - t
        yield [image, weights] if image_first else [weights, image]


def export(model, out_dir: Path, size: int = 256, calibration_crops: np.ndarray | None = None,
           calibration_count: int = 64, stem: str = "style", suffix: str = "",
           float16: bool = True, int8: str = "dynamic") -> dict[str, Path]:
    """`{stem}_int8{suffix}.tflite` (and `_fp16`): e.g. style_int8.tflite at
    256 and style_int8_320.tflite for the other processing resolutions."""
    import tensorflow as tf

    from models.style.network import build, widths

    num_styles = model.input["style"].shape[-1] if isinstance(model.input, dict) else model.inputs[1].shape[-1]
    fixed = build(num_styles, size, channels=widths(model))
    fixed.set_weights(model.get_weights())
    function = _signature(fixed, size, num_styles)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    float_model = converter.convert()
    if float16:
        paths["float16"] = out_dir / f"{stem}_fp16{suffix}.tflite"
        paths["float16"].write_bytes(float_model)

    if int8 == "dynamic":
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        paths["int8"] = out_dir / f"{stem}_int8{suffix}.tflite"
        paths["int8"].write_bytes(converter.convert())
    elif calibration_crops is not None:
        crops = calibration_crops
        if crops.shape[1] != size:
            import cv2
            crops = np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops])
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        # The calibrator feeds inputs in the converted model's order, which need
        # not be the signature's: read it off the float model.
        from ai_edge_litert.interpreter import Interpreter
        first = Interpreter(model_content=float_model).get_input_details()[0]
        image_first = len(first["shape"]) == 4
        converter.representative_dataset = lambda: _calibration(crops, num_styles, calibration_count,
                                                                image_first)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
        paths["int8"] = out_dir / f"{stem}_int8{suffix}.tflite"
        paths["int8"].write_bytes(converter.convert())
    return paths
