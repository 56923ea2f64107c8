"""The live colorization network: lightness and colour hints in, colour (the
Lab a and b channels) out at a quarter of the input size, in the spirit of
Zhang et al. 2017 (real-time user-guided colorization), sized for one CPU core.

- Inputs: `lightness` (N, H, W, 1), L / 100 in [0, 1]; `hints` (N, H, W, 3):
  the a and b of each hinted pixel / 110 (so [-1, 1]) and a mask (1 where a
  hint is). No hints at all is automatic colorization.
- Output: `ab` (N, H/4, W/4, 2) in [-1, 1] (x 110 for Lab). The engine scales
  it up to the frame and puts it beside the frame's own full-size lightness,
  so detail stays as sharp as the input at any output size.
- Encoder to 1/8 (three stride-2 convolutions), dilated residual convolutions
  there (dilation 1, 2, 4, 1: a wide view of the scene, which decides colour),
  one upsampling step back to 1/4 with a skip from the encoder. Plain
  convolutions and ReLU (no normalization): they quantize cleanly to int8.
  About 0.57 GFLOP at 256x256 (`gflops`; 1.27 at the first widths 24, 48, 96,
  which ran 5.2 ms a frame on one core against 3.0). Keras layers and `keras.ops` only.
"""
from __future__ import annotations

import keras
from keras import layers

from engine.runtime.layers import HintSpread   # the runtime loads .keras files without this module

WIDTHS = (16, 32, 64)
DILATIONS = (1, 2, 4, 1)


def build(size: int | None = None, widths: tuple[int, int, int] = WIDTHS, name: str = "colorize_net") -> keras.Model:
    """The network; `size` fixes the input size (for export), None leaves it free
    (a multiple of 8)."""
    lightness = keras.Input((size, size, 1), name="lightness")
    hints = keras.Input((size, size, 3), name="hints")
    signed = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(lightness)
    x = layers.Concatenate(name="inputs")([signed, hints])

    def conv(x, width, stride=1, dilation=1, label=""):
        return layers.Conv2D(width, 3, stride, padding="same", dilation_rate=dilation, activation="relu",
                             name=label)(x)

    x = conv(x, widths[0], 2, label="down0")                    # 1/2
    x = conv(x, widths[1], 2, label="down1")                    # 1/4
    skip = layers.Conv2D(widths[1], 1, name="skip")(x)
    x = conv(x, widths[2], 2, label="down2")                    # 1/8
    # The hints, spread over the coarse grids (normalised convolution), join
    # where the network decides colour: without them it learned to ignore hints.
    spread8 = HintSpread(8, name="hints_1_8")(hints)
    x = layers.Conv2D(widths[2], 1, activation="relu", name="with_hints")(layers.Concatenate(name="join8")([x, spread8]))
    for i, dilation in enumerate(DILATIONS):
        y = conv(x, widths[2], dilation=dilation, label=f"context{i}")
        x = layers.Add(name=f"context{i}_add")([x, y])
    x = layers.UpSampling2D(2, interpolation="bilinear", name="up")(x)   # 1/4
    spread4 = HintSpread(4, blurs=2, name="hints_1_4")(hints)
    x = conv(layers.Concatenate(name="join4")([x, spread4]), widths[1], label="up_conv")
    x = layers.Add(name="up_add")([x, skip])
    ab = layers.Conv2D(2, 1, activation="tanh", name="ab")(x)
    return keras.Model({"lightness": lightness, "hints": hints}, ab, name=name)


def widths(model: keras.Model) -> tuple[int, int, int]:
    return tuple(model.get_layer(f"down{i}").filters for i in range(3))


def gflops(model: keras.Model, size: int = 256) -> float:
    """Multiply-adds x 2 of the convolutions at size x size."""
    scale = {"down0": 2, "down1": 4, "skip": 4, "down2": 8, "up_conv": 4, "ab": 4, "with_hints": 8}
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            stride_out = scale.get(layer.name, 8)
            kh, kw, cin, cout = layer.kernel.shape
            total += 2 * kh * kw * cin * cout * (size // stride_out) ** 2
    return total / 1e9
