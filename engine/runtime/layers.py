"""Keras layers that shipped `.keras` models are made of, so the runtime can
load them without the training code. Keras layers and `keras.ops` only: the
same layer runs under TensorFlow and under JAX (the GPU check).

Imported by the TensorFlow backend and by the model families' networks;
never on the CPU show path (it imports Keras).
"""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="tensorstage")
class ConditionalInstanceNorm(layers.Layer):
    """Instance norm whose scale and shift are the style-weighted sum of one
    (scale, shift) pair per style (Dumoulin et al. 2017). Written by hand
    (mean and variance over height and width): Keras' GroupNormalization
    converts to 5-D reshapes that break XNNPACK and stay float under int8."""

    def __init__(self, num_styles: int, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_styles = num_styles
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.scale = self.add_weight(shape=(self.num_styles, channels), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(self.num_styles, channels), initializer="zeros", name="shift")

    def call(self, inputs):
        x, weights = inputs
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        centred = x - mean
        variance = ops.mean(centred * centred, axis=(1, 2), keepdims=True)
        normed = centred * ops.rsqrt(variance + self.epsilon)
        scale = ops.matmul(weights, self.scale)[:, None, None, :]
        shift = ops.matmul(weights, self.shift)[:, None, None, :]
        return normed * scale + shift

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="tensorstage")
class HintSpread(layers.Layer):
    """Colour hints spread over a coarse grid: the hint planes (a, b, mask)
    averaged down by `factor`, blurred by `blurs` passes of a 5 x 5 box, and
    normalised by the blurred mask (normalised convolution). Out: the spread
    a and b, and the confidence (the blurred mask). A cheap prior that lets a
    handful of hints reach the whole region around them, which a network seeing
    only the sparse planes at full size learned to ignore (a 40 x 40 hint moved
    its output by 0.005 of the range after 8,000 steps)."""

    def __init__(self, factor: int, blurs: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.blurs = factor, blurs

    def call(self, hints):
        x = ops.average_pool(hints, self.factor, self.factor, padding="valid")
        for _ in range(self.blurs):
            x = ops.average_pool(x, 5, 1, padding="same")
        ab, mask = x[..., :2], x[..., 2:3]
        return ops.concatenate([ab / (mask + 1e-3), ops.minimum(mask * 25.0, 1.0)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "blurs": self.blurs}
