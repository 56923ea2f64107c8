"""A Johnson-style image-to-image conv net (the shape of a style network), built
with Keras layers only, exported to a full-int8 TFLite file for benchmarks.

    python -m models.bench.convnet      # writes convnet_int8.tflite and its card

It is not trained (random weights): it stands in for the style and colorize
models so the engine's load and timing can be measured before they exist.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SIZE = 256


def build(size: int = SIZE):
    import keras
    from keras import layers

    def conv(x, filters, kernel, stride=1):
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((size, size, 3), batch_size=1)  # static shapes convert cleanly to int8
    x = conv(inputs, 16, 9)
    x = conv(x, 32, 3, 2)
    x = conv(x, 64, 3, 2)
    for _ in range(3):
        y = conv(x, 64, 3)
        y = layers.Conv2D(64, 3, padding="same", use_bias=False)(y)
        x = layers.Add()([x, y])
    x = layers.UpSampling2D()(x)
    x = conv(x, 32, 3)
    x = layers.UpSampling2D()(x)
    x = conv(x, 16, 3)
    outputs = layers.Conv2D(3, 9, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="bench_convnet")


def export(path: Path = HERE / "convnet_int8.tflite") -> dict:
    import tensorflow as tf

    from engine.sources.test_pattern import PatternGenerator

    keras_model = build()
    generator = PatternGenerator(SIZE, SIZE, 30.0)
    frames = [generator.draw(i * 33_000)[..., ::-1].astype(np.float32) / 255.0 for i in range(16)]

    def representative():
        for frame in frames:
            yield [frame[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    started = time.time()
    path.write_bytes(converter.convert())
    flops = 0
    for layer in keras_model.layers:
        if layer.__class__.__name__ == "Conv2D":
            h, w, c_out = layer.output.shape[1:]
            k = layer.kernel_size[0] * layer.kernel_size[1] * layer.input.shape[-1]
            flops += 2 * h * w * c_out * k
    card = {
        "name": "bench_convnet int8", "file": path.name, "purpose": "benchmark load only; random weights, not trained",
        "input": [1, SIZE, SIZE, 3], "dtype": "uint8", "gflops": round(flops / 1e9, 2),
        "made_by": "python -m models.bench.convnet", "convert_s": round(time.time() - started, 1),
        "representative_data": "16 frames of the engine's generated test pattern", "licence": "Apache-2.0",
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


if __name__ == "__main__":
    print(json.dumps(export(), indent=2))
