"""The live style network: feed-forward, several styles in one model through
conditional instance normalization (Dumoulin et al. 2017), so a vector of style
weights blends them continuously.

Built for one CPU core at 256x256 (about 1.2 GFLOP):
- early downsampling: three stride-2 convolutions to 1/8 size, where the
  residual blocks run on 64 channels (32x32 positions at 256x256);
- nearest-neighbour upsampling + 3x3 convolutions back up (no transposed
  convolutions: no checkerboard);
- normalization always computes in float32 (also under mixed float16 on a
  GPU: its statistics need the range);
- instance norm written by hand (mean and variance over height and width):
  Keras' GroupNormalization converts to 5-D reshapes that break XNNPACK and stay
  float under int8 conversion.

Inputs: `image` (N, H, W, 3) RGB in [0, 1] (H and W multiples of 8) and
`style` (N, styles) weights (the engine normalises them to sum to 1).
Output: (N, H, W, 3) RGB in [0, 1].
"""
from __future__ import annotations

import keras
from keras import layers

from engine.runtime.layers import ConditionalInstanceNorm  # the runtime loads .keras files without this module

CHANNELS = (16, 32, 64)
RESIDUAL_BLOCKS = 5


def build(num_styles: int, size: int | None = None, name: str = "style_net",
          channels: tuple[int, int, int] = CHANNELS) -> keras.Model:
    """The network; `size` fixes the input size (for export), None leaves it free;
    `channels` are the widths at 1/2, 1/4 and 1/8 of the input."""
    image = keras.Input((size, size, 3), name="image")
    style = keras.Input((num_styles,), name="style")

    def conv_norm_relu(x, channels, stride, label):
        x = layers.Conv2D(channels, 3, stride, padding="same", use_bias=False, name=f"{label}_conv")(x)
        x = ConditionalInstanceNorm(num_styles, dtype="float32", name=f"{label}_norm")([x, style])
        return layers.ReLU(name=f"{label}_relu")(x)

    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(image)
    for i, width in enumerate(channels):
        x = conv_norm_relu(x, width, 2, f"down{i}")
    for i in range(RESIDUAL_BLOCKS):
        shortcut = x
        y = conv_norm_relu(x, channels[-1], 1, f"res{i}_a")
        y = layers.Conv2D(channels[-1], 3, padding="same", use_bias=False, name=f"res{i}_b_conv")(y)
        y = ConditionalInstanceNorm(num_styles, dtype="float32", name=f"res{i}_b_norm")([y, style])
        x = layers.Add(name=f"res{i}_add")([shortcut, y])
    for i, width in enumerate((channels[1], channels[0])):
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}_resize")(x)
        x = conv_norm_relu(x, width, 1, f"up{i}")
    x = layers.UpSampling2D(2, interpolation="nearest", name="out_resize")(x)
    x = layers.Conv2D(3, 3, padding="same", name="out_conv")(x)
    rgb = layers.Activation("sigmoid", name="rgb")(x)
    return keras.Model({"image": image, "style": style}, rgb, name=name)


def widths(model: keras.Model) -> tuple[int, int, int]:
    """The channel widths a built network has (to rebuild it at another size)."""
    return tuple(model.get_layer(f"down{i}_conv").filters for i in range(3))


def gflops(model: keras.Model, size: int = 256) -> float:
    """Multiply-adds x 2 of the convolutions at size x size (what dominates)."""
    total = 0
    scale = {"down0": 2, "down1": 4, "down2": 8, "up0": 4, "up1": 2}
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            label = layer.name.split("_")[0]
            stride_out = scale.get(label, 8 if label.startswith("res") else 1)
            positions = (size // stride_out) ** 2
            kh, kw, cin, cout = layer.kernel.shape
            total += 2 * kh * kw * cin * cout * positions
    return total / 1e9
