"""Live style transfer: the multi-style network on each frame, with the style
weights, strength and stabilisation as parameters (OSC, scenes, keys).

The style weights are blended inside the network (conditional instance norm),
so fading `style1` down while `style2` comes up morphs one painting into the
other. The frame is resized to the model's size (256x256 for the shipped
model) once, painted, resized back and mixed with the original by `strength`.
Stabilisation (engine/runtime/stabilizer.py) carries the previous painting
along the camera's motion, so strokes move with the scene instead of
shimmering, and takes the new painting at once after a cut.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.node import Option, register
from engine.params import FLOAT, ParamSpec
from engine.runtime.model_node import MODEL_OPTIONS, STRENGTH, ModelNode, resolution_param
from engine.runtime.models import load_style_model, style_names
from engine.runtime.stabilizer import DEFAULT_STABILIZE, Stabilizer

MAX_STYLES = 4
RESOLUTIONS = ("192", "256", "320")
# The .keras source, found by path: on a GPU it runs on TensorFlow (float16 +
# XLA); elsewhere the int8 .tflite beside it runs on LiteRT.
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "style" / "style.keras"


@register
class StyleNode(ModelNode):
    type_name = "style"
    description = "Paints each frame with a multi-style network; style weights morph between paintings."
    shipped = SHIPPED
    resolutions = RESOLUTIONS
    options = {**MODEL_OPTIONS,
               "path": Option(str, "", "a style model .keras or .tflite (default: the shipped four-style model)")}
    params = {
        "strength": ParamSpec(FLOAT, 1.0, "0 the original frame, 1 the painting", min=0.0, max=1.0,
                              smoothing_s=STRENGTH.smoothing_s),
        "stabilize": ParamSpec(FLOAT, DEFAULT_STABILIZE, "motion-compensated smoothing against flicker (0 off)",
                               min=0.0, max=1.0),
        "resolution": resolution_param(RESOLUTIONS, "256"),
        **{f"style{i + 1}": ParamSpec(FLOAT, 1.0 if i == 0 else 0.0,
                                      f"weight of the model's style {i + 1} (its card, style.json, names it)",
                                      min=0.0, max=1.0, smoothing_s=0.5)
           for i in range(MAX_STYLES)},
    }

    def load(self, path: Path, backend: str, threads: int):
        return load_style_model(path, backend, threads)

    def warm_up(self) -> None:
        self.stabilizer = Stabilizer()
        self.model(np.full((self.model.size, self.model.size, 3), 128, np.uint8),
                   [1] + [0] * (self.model.num_styles - 1))

    def describe(self, runtime: str) -> str:
        n = self.model.num_styles
        names = style_names(self.model_path()) or [f"style {i + 1}" for i in range(n)]
        sizes = "/".join(map(str, sorted(self.models))) if self.model.backend == "litert" else "any size"
        return (f"{n} styles (" + ", ".join(f"style{i + 1}={name}" for i, name in enumerate(names[:MAX_STYLES]))
                + f"), {sizes} px, {runtime}")

    def weights(self) -> np.ndarray:
        w = np.zeros(self.model.num_styles, np.float32)
        for i in range(min(MAX_STYLES, self.model.num_styles)):
            w[i] = self.param[f"style{i + 1}"]
        self.last_weights = w if w.sum() > 0 else np.eye(self.model.num_styles, dtype=np.float32)[0]
        return self.last_weights

    def reset(self) -> None:
        self.stabilizer.reset()

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """The painting of a BGR frame at the frame's size, stabilised."""
        model = self.model_for(int(self.param["resolution"]))
        size = model.size if model.backend == "litert" else int(self.param["resolution"])
        self.last_size = size
        small = cv2.cvtColor(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        painted = self.stabilizer(small, model(small, self.weights()), self.param["stabilize"])
        return cv2.resize(cv2.cvtColor(painted, cv2.COLOR_RGB2BGR), (frame.shape[1], frame.shape[0]),
                          interpolation=cv2.INTER_LINEAR)
