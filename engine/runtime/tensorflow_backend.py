"""The TensorFlow backend: `.keras` models and SavedModels, with XLA and float16
where a GPU is present.

Imported only when a patch chooses it. On a GPU the model is rebuilt with the
mixed_float16 policy (normalization layers stay float32, as their statistics
need the range) and compiled with XLA; on a CPU it runs float32, XLA optional.
Float image models take RGB in 0..1 and give RGB in 0..1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.runtime.backend import TENSORFLOW, ModelError

FLOAT32_LAYERS = ("BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization",
                  "ConditionalInstanceNorm")


class TensorFlowModel:
    backend = TENSORFLOW

    def __init__(self, path: Path, xla: bool = True, float16: bool = False) -> None:
        import keras
        import tensorflow as tf

        self.path, self.xla, self.float16 = path, xla, float16
        try:
            model = keras.models.load_model(str(path), compile=False) if path.suffix == ".keras" \
                else keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
        except Exception as error:  # noqa: BLE001 - Keras raises many kinds on a bad file
            raise ModelError(f"{path}: not a model Keras can load ({str(error).splitlines()[0]})") from None
        if float16:
            model = _as_mixed_float16(model, keras)
        self.model = model
        self._run = tf.function(lambda x: model(x, training=False), jit_compile=xla)
        self.threads = None

    def expect_image(self) -> tuple[int, int]:
        inputs, outputs = self.model.inputs, self.model.outputs
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.path}: has {len(inputs)} inputs and {len(outputs)} outputs; "
                             "an image model has one of each")
        for role, tensor in (("input", inputs[0]), ("output", outputs[0])):
            shape = tuple(tensor.shape)
            if len(shape) != 4 or shape[3] != 3 or shape[1] is None or shape[2] is None:
                raise ModelError(f"{self.path}: {role} is {list(shape)}; an image model needs "
                                 "[batch, height, width, 3] with a fixed size")
        return int(inputs[0].shape[1]), int(inputs[0].shape[2])

    def run_image(self, rgb: np.ndarray) -> np.ndarray:
        out = self._run(rgb[None].astype(np.float32) / 255.0)
        return np.clip(np.asarray(out, dtype=np.float32)[0] * 255.0 + 0.5, 0, 255).astype(np.uint8)


class TensorFlowStyleModel:
    """A multi-style `.keras` network (image + style weights in) on TensorFlow:
    float16 and XLA on a GPU, float32 on a CPU. Same call as the LiteRT
    LiteRTStyleModel: RGB uint8 and weights in, RGB uint8 out."""

    backend = TENSORFLOW

    def __init__(self, path: Path, size: int = 256, xla: bool = True, float16: bool = False) -> None:
        import keras
        import tensorflow as tf

        import engine.runtime.layers  # noqa: F401 - registers ConditionalInstanceNorm

        try:
            model = keras.models.load_model(str(path), compile=False)
        except Exception as error:  # noqa: BLE001
            raise ModelError(f"{path}: not a style model Keras can load ({str(error).splitlines()[0]})") from None
        if not isinstance(model.input, dict) or set(model.input) != {"image", "style"}:
            raise ModelError(f"{path}: a style model takes 'image' and 'style' inputs")
        if float16:
            model = _as_mixed_float16(model, keras)
        self.path, self.size, self.model = path, size, model
        self.num_styles = int(model.input["style"].shape[-1])
        self._run = tf.function(lambda image, style: model({"image": image, "style": style}, training=False),
                                jit_compile=xla)

    def __call__(self, rgb: np.ndarray, weights) -> np.ndarray:
        w = np.asarray(weights, np.float32).reshape(1, -1)
        w = w / max(float(w.sum()), 1e-6)
        out = self._run(rgb[None].astype(np.float32) / 255.0, w)
        return np.clip(np.asarray(out, dtype=np.float32)[0] * 255.0 + 0.5, 0, 255).astype(np.uint8)


class TensorFlowRunner:
    """Any `.keras` model whose tensors fit a `TensorContract`, on TensorFlow:
    float16 and XLA on a GPU, float32 on a CPU. Same call as LiteRTRunner:
    float values in per role, float32 values out per role."""

    backend = TENSORFLOW

    def __init__(self, path: Path, contract, xla: bool = True, float16: bool = False) -> None:
        import keras
        import tensorflow as tf

        import engine.runtime.layers  # noqa: F401 - the custom layers shipped models use

        self.path = Path(path)
        try:
            model = keras.models.load_model(str(path), compile=False)
        except Exception as error:  # noqa: BLE001 - Keras raises many kinds on a bad file
            raise ModelError(f"{path}: not a model Keras can load ({str(error).splitlines()[0]})") from None
        inputs = [(t.name, tuple(1 if d is None else int(d) for d in t.shape)) for t in model.inputs]
        outputs = [(t.name, tuple(1 if d is None else int(d) for d in t.shape)) for t in model.outputs]
        by_in, by_out = contract.match(self.path, inputs, outputs)
        if float16:
            model = _as_mixed_float16(model, keras)
        self.model, self.threads = model, None
        self._input_names = {role: model.inputs[i].name for role, i in by_in.items()}
        self._output_index = {role: i for role, i in by_out.items()}
        self._shapes = {role: inputs[i][1] for role, i in by_in.items()}
        self._dict_inputs = isinstance(model.input, dict)
        self._run = tf.function(lambda x: model(x, training=False), jit_compile=xla)

    def input_shape(self, role: str) -> tuple[int, ...]:
        return self._shapes[role]

    def run(self, **inputs):
        import numpy as np
        feed = {self._input_names[role]: np.asarray(v, np.float32) for role, v in inputs.items()}
        out = self._run(feed if self._dict_inputs else list(feed.values()))
        outs = out if isinstance(out, (list, tuple)) else [out]
        return {role: np.asarray(outs[i], dtype=np.float32) for role, i in self._output_index.items()}


def _as_mixed_float16(model, keras):
    """The same network and weights, computing in float16 except normalization."""
    def clone(layer):
        config = layer.get_config()
        if layer.__class__.__name__ not in FLOAT32_LAYERS:
            config["dtype"] = "mixed_float16"
        return layer.__class__.from_config(config)

    mixed = keras.models.clone_model(model, clone_function=clone)
    mixed.set_weights(model.get_weights())
    return mixed
