"""Live style transfer: the multi-style network on each frame, with the style
weights, strength and stabilisation as parameters (OSC, scenes, keys).

The style weights are blended inside the network (conditional instance norm),
so fading `style1` down while `style2` comes up morphs one painting into the
other. The frame is resized to the model's size (256x256 for the shipped
model) once, painted, resized back and mixed with the original by `strength`.

Stabilisation at run time, motion-compensated: the previous painting is
carried along the camera's motion (optical flow) and blended in where the
motion explains the new frame, so strokes move with the scene instead of
shimmering; where it does not (a cut, a new object), the new painting is
taken at once, so nothing ghosts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet
from engine.params import CHOICE, FLOAT, ParamSpec
from engine.processors.swap_fade import SwapFade

MAX_STYLES = 4
RESOLUTIONS = ("192", "256", "320")
# The .keras source: on a GPU it runs on TensorFlow (float16 + XLA); elsewhere
# the int8 .tflite beside it runs on LiteRT.
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "style" / "style.keras"


def load_style_model(path: Path, forced: str = "auto", threads: int = 1, gpu: bool | None = None):
    """(model, why): LiteRT for a .tflite or a .keras on a CPU, TensorFlow with
    float16 and XLA for a .keras where an NVIDIA GPU is visible."""
    from engine.runtime.models import LITERT, choose_backend, nvidia_gpu_present

    gpu = nvidia_gpu_present() if gpu is None else gpu
    backend, chosen, why = choose_backend(path, forced, gpu)
    if backend == LITERT:
        from models.style.export import StyleModel
        return StyleModel(chosen, threads=threads), why
    from engine.runtime.tensorflow_backend import TensorFlowStyleModel
    return TensorFlowStyleModel(chosen, xla=gpu, float16=gpu), why


def style_names(model_path: Path) -> list[str]:
    card = model_path.with_name(model_path.name.replace("_int8", "").replace("_fp16", "")).with_suffix(".json")
    try:
        return [s["name"] for s in json.loads(card.read_text())["styles"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


DEFAULT_STABILIZE = 0.7


class Stabilizer:
    """Motion-compensated temporal smoothing of the painted frames.

    The previous painting is carried along the camera's motion (dense optical
    flow between the previous and the new input frame, DIS, about 0.4 ms at
    256x256) and blended into the new painting where the motion explains the
    new input: strokes then move with the scene instead of shimmering. Where the
    warped previous input does not match the new one (a cut, something that
    appeared, a wrong flow), the new painting is taken as it is, so nothing
    ghosts. `amount` 0 is off; 1 keeps up to 85 % of the carried painting.
    """

    MISMATCH = 16.0       # input difference (0..255, local mean) at which nothing is kept
    CUT = 10.0            # ... and its mean over the frame above which it is a new shot

    def __init__(self) -> None:
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.previous_in: np.ndarray | None = None
        self.previous_gray: np.ndarray | None = None
        self.previous_out: np.ndarray | None = None
        self._grid: np.ndarray | None = None

    def reset(self) -> None:
        self.previous_in = self.previous_gray = self.previous_out = None

    def __call__(self, new_in: np.ndarray, new_out: np.ndarray, amount: float) -> np.ndarray:
        gray = cv2.cvtColor(new_in, cv2.COLOR_RGB2GRAY)
        out = new_out
        if amount > 0 and self.previous_out is not None and self.previous_in.shape == new_in.shape:
            h, w = gray.shape
            if self._grid is None or self._grid.shape[1:] != (h, w):
                self._grid = np.indices((h, w)).astype(np.float32)
            flow = self.flow.calc(gray, self.previous_gray, None)      # where each new pixel was before
            map_x, map_y = self._grid[1] + flow[..., 0], self._grid[0] + flow[..., 1]
            carried_in = cv2.remap(self.previous_in, map_x, map_y, cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
            carried_out = cv2.remap(self.previous_out, map_x, map_y, cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            mismatch = cv2.blur(cv2.absdiff(new_in, carried_in).mean(axis=-1).astype(np.float32), (5, 5))
            if float(mismatch.mean()) < self.CUT:
                keep = (0.85 * amount) * np.clip(1.0 - mismatch / self.MISMATCH, 0.0, 1.0)[..., None]
                blended = new_out.astype(np.float32) + keep * (carried_out.astype(np.float32) - new_out)
                out = (blended + 0.5).astype(np.uint8)
        self.previous_in, self.previous_gray, self.previous_out = new_in, gray, out
        return out


@register
class StyleNode(Node):
    type_name = "style"
    description = "Paints each frame with a multi-style network; style weights morph between paintings."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    options = {
        "path": Option(str, "", "a style model .keras or .tflite (default: the shipped four-style model)"),
        "backend": Option(str, "auto", "auto, litert or tensorflow", choices=("auto", "litert", "tensorflow")),
        "swap_fade_s": Option(float, 0.5, "on a live model swap, seconds to crossfade from the old model",
                              min=0.0, max=10.0),
        "threads": Option(int, 0, "inference threads; 0 = one while audio runs, else all cores",
                          min=0, max=64),
    }
    params = {
        "strength": ParamSpec(FLOAT, 1.0, "0 the original frame, 1 the painting", min=0.0, max=1.0,
                              smoothing_s=0.2),
        "stabilize": ParamSpec(FLOAT, DEFAULT_STABILIZE, "motion-compensated smoothing against flicker (0 off)",
                               min=0.0, max=1.0),
        "resolution": ParamSpec(CHOICE, "256", "processing size in pixels: 192 is faster, 320 finer",
                                choices=RESOLUTIONS),
        **{f"style{i + 1}": ParamSpec(FLOAT, 1.0 if i == 0 else 0.0,
                                      f"weight of the model's style {i + 1} (its card, style.json, names it)",
                                      min=0.0, max=1.0, smoothing_s=0.5)
           for i in range(MAX_STYLES)},
    }

    def open(self) -> None:
        path = Path(self.opts["path"]).expanduser() if self.opts["path"] else SHIPPED
        threads = self.opts["threads"] or (1 if self.context.audio_running else os.cpu_count() or 1)
        started = time.perf_counter()
        self.model, why = load_style_model(path, self.opts["backend"], threads)
        self.size = self.model.size
        # LiteRT models have a fixed size: the other resolutions are sibling
        # files (style_int8_320.tflite), all loaded now so a change is instant.
        self.models = {self.size: self.model}
        if self.model.backend == "litert":
            from models.style.export import StyleModel
            for size in map(int, RESOLUTIONS):
                sibling = self.model.path.with_name(f"{self.model.path.stem}_{size}.tflite")
                if size != self.size and sibling.exists():
                    self.models[size] = StyleModel(sibling, threads=threads)
        self.model(np.full((self.size, self.size, 3), 128, np.uint8), [1] + [0] * (self.model.num_styles - 1))
        names = style_names(path) or [f"style {i + 1}" for i in range(self.model.num_styles)]
        self.stabilizer = Stabilizer()
        self.fade = SwapFade()
        self.report(f"{path.name}: {self.model.num_styles} styles ("
                    + ", ".join(f"style{i + 1}={n}" for i, n in enumerate(names[:MAX_STYLES]))
                    + f"), {'/'.join(map(str, sorted(self.models))) if self.model.backend == 'litert' else 'any size'}"
                    + f" px, {self.model.backend}"
                    + (f", {threads} thread(s)" if self.model.backend == "litert" else "")
                    + f"; ready in {1000 * (time.perf_counter() - started):.0f} ms; {why}")

    def weights(self) -> np.ndarray:
        w = np.zeros(self.model.num_styles, np.float32)
        for i in range(min(MAX_STYLES, self.model.num_styles)):
            w[i] = self.param[f"style{i + 1}"]
        self.last_weights = w if w.sum() > 0 else np.eye(self.model.num_styles, dtype=np.float32)[0]
        return self.last_weights

    def take_over(self, previous: Node) -> None:
        if isinstance(previous, StyleNode) and hasattr(previous, "model"):
            self.fade.begin(previous.paint, self.opts["swap_fade_s"])

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """The painting of a BGR frame at the frame's size, stabilised."""
        size = int(self.param["resolution"])
        model = self.models.get(size) if self.model.backend == "litert" else self.model
        if model is None:
            model, size = self.model, self.size
        self.last_size = size
        small = cv2.cvtColor(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        painted = self.stabilizer(small, model(small, self.weights()), self.param["stabilize"])
        return cv2.resize(cv2.cvtColor(painted, cv2.COLOR_RGB2BGR), (frame.shape[1], frame.shape[0]),
                          interpolation=cv2.INTER_LINEAR)

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        frame = packet.value
        strength = self.param["strength"]
        if strength <= 0.0:
            self.stabilizer.reset()
            return {"video": packet}
        styled = self.fade.apply(frame, self.paint(frame))
        if strength < 1.0:
            styled = cv2.addWeighted(styled, strength, frame, 1.0 - strength, 0.0)
        return {"video": packet.derive(styled)}
