"""The base of every node that runs a model on video: one place for the
options, loading, warm-up, errors, swap crossfade and the backend choice.

A family's node subclasses `ModelNode` and says only what is its own:
- `load(path, backend, threads)`: its runner and why that backend (most call
  `engine.runtime.models`); every failure becomes a `ModelError` naming the file;
- `warm_up()`: one inference at the model's size, so the first frame is not slow;
- `paint(frame)`: the model's picture of a BGR frame at the frame's size;
- optionally `shipped` (the model used when `path` is empty), `resolutions`
  (processing sizes, each a sibling file `NAME_<size>.tflite` loaded at open so
  a change is instant), `describe(runtime)` (the load report's words), and more params.

The base then gives: `open` off the window's thread (the engine's rule),
threads (all cores, or all but one while audio runs), the `strength` mix with
the input, a crossfade from the old model on a live swap (`swap_fade_s`), and
which options may be swapped over OSC (`path` only) and to which files.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from engine.node import Node, Option, Port
from engine.packet import VIDEO, Packet
from engine.params import CHOICE, FLOAT, ParamSpec
from engine.runtime.backend import BACKENDS, LITERT, MODEL_SUFFIXES, ModelError
from engine.runtime.swap_fade import SwapFade

MODEL_OPTIONS = {
    "path": Option(str, "", "the model: .tflite, or .keras (a .tflite beside it runs on a CPU)"),
    "backend": Option(str, "auto", "auto, litert or tensorflow", choices=BACKENDS),
    "swap_fade_s": Option(float, 0.5, "on a live model swap, seconds to crossfade from the old model",
                          min=0.0, max=10.0),
    "threads": Option(int, 0, "inference threads; 0 = all cores, or all but one while audio runs",
                      min=0, max=64),
}
STRENGTH = ParamSpec(FLOAT, 1.0, "0 the original frame, 1 the model's", min=0.0, max=1.0, smoothing_s=0.2)


def resolution_param(sizes: tuple[str, ...], default: str) -> ParamSpec:
    return ParamSpec(CHOICE, default, f"processing size in pixels ({', '.join(sizes)}): smaller is faster",
                     choices=sizes)


class ModelNode(Node):
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    options = MODEL_OPTIONS
    params = {"strength": STRENGTH}
    swappable = frozenset({"path"})
    swap_suffixes = MODEL_SUFFIXES
    shipped: ClassVar[Path | None] = None
    resolutions: ClassVar[tuple[str, ...]] = ()

    # What a family implements -----------------------------------------------------
    def load(self, path: Path, backend: str, threads: int) -> tuple[Any, str]:
        raise NotImplementedError

    def warm_up(self) -> None:
        pass

    def paint(self, frame: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self, runtime: str) -> str:
        """What the load report says of the model; `runtime` is its backend and threads."""
        return runtime

    # The shared part ------------------------------------------------------------
    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        if options.get("path") or cls.shipped is not None:
            return []
        return [("path", f"a {cls.type_name} node needs a path")]

    def model_path(self) -> Path:
        return Path(self.opts["path"]).expanduser() if self.opts["path"] else Path(self.shipped)

    def threads(self) -> int:
        cores = os.cpu_count() or 1
        return self.opts["threads"] or (max(1, cores - 1) if self.context.audio_running else cores)

    def open(self) -> None:
        path, threads = self.model_path(), self.threads()
        started = time.perf_counter()
        try:
            self.model, why = self.load(path, self.opts["backend"], threads)
            self.models = {self.model_size(): self.model}
            if self.model.backend == LITERT:
                self._load_resolutions(threads)
            loaded = time.perf_counter()
            self.warm_up()
        except ModelError:
            raise
        except Exception as error:  # noqa: BLE001 - a backend's own error, named after the file
            raise ModelError(f"{path}: {type(error).__name__}: {error}") from error
        self.fade = SwapFade()
        spare = " (a core left for audio)" if self.context.audio_running and not self.opts["threads"] else ""
        runtime = self.model.backend + (f", {threads} thread(s){spare}" if self.model.backend == LITERT else "")
        self.report(f"{path.name}: {self.describe(runtime)}; loaded in {1000 * (loaded - started):.0f} ms, "
                    f"warm-up {1000 * (time.perf_counter() - loaded):.0f} ms; {why}")

    def model_size(self) -> int:
        return int(getattr(self.model, "size", 0))

    def _load_resolutions(self, threads: int) -> None:
        for size in map(int, self.resolutions):
            sibling = self.model.path.with_name(f"{self.model.path.stem}_{size}.tflite")
            if size != self.model_size() and sibling.exists():
                self.models[size], _ = self.load(sibling, LITERT, threads)

    def model_for(self, size: int):
        """The loaded model for a processing size (its own size when there is none)."""
        if self.model.backend != LITERT:
            return self.model          # TensorFlow runs any size
        return self.models.get(size, self.model)

    def take_over(self, previous: Node) -> None:
        if isinstance(previous, type(self)) and hasattr(previous, "model"):
            self.fade.begin(previous.paint, self.opts["swap_fade_s"])

    def reset(self) -> None:
        """Forget what was carried from frame to frame (strength went to 0)."""

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        frame = packet.value
        strength = self.param["strength"]
        if strength <= 0.0:
            self.reset()
            return {"video": packet}
        painted = self.fade.apply(frame, self.paint(frame))
        if strength < 1.0:
            painted = cv2.addWeighted(painted, strength, frame, 1.0 - strength, 0.0)
        return {"video": packet.derive(painted)}
