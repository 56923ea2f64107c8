"""Makes dense_10.tflite: a model whose shapes are not an image's (for the error tests).

    python tests/runtime/data/make_dense.py
"""
from pathlib import Path

import keras
import tensorflow as tf

model = keras.Sequential([keras.Input((10,), batch_size=1), keras.layers.Dense(4)])
converter = tf.lite.TFLiteConverter.from_keras_model(model)
(Path(__file__).parent / "dense_10.tflite").write_bytes(converter.convert())
