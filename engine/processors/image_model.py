"""An image-to-image model (style, colorization, ...) on a video stream.

The model is loaded and warmed up in `open`, which never runs on the window's
thread. Each frame is converted to RGB and resized to the model's size once,
run, resized back and blended with the original by `strength`. On a CPU the
model gets every core, or all but one while audio runs (`threads = 0`). Behind
the engine's latest-wins mailbox a slow model lowers its frame rate, never
raises latency. Editing `path` in the running patch loads the new model beside
the old one (the reload opens new nodes first), then switches.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet
from engine.params import FLOAT, ParamSpec
from engine.processors.swap_fade import SwapFade
from engine.runtime.models import load_image_model


@register
class ImageModelNode(Node):
    type_name = "image_model"
    description = "Runs an image-to-image model on each frame (LiteRT on CPU), blended by strength."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    options = {
        "path": Option(str, "", "the model: .tflite, or .keras with a .tflite beside it"),
        "backend": Option(str, "auto", "auto, litert or tensorflow", choices=("auto", "litert", "tensorflow")),
        "swap_fade_s": Option(float, 0.5, "on a live model swap, seconds to crossfade from the old model",
                              min=0.0, max=10.0),
        "threads": Option(int, 0, "inference threads; 0 = all cores, or all but one while audio runs",
                          min=0, max=64),
    }
    params = {"strength": ParamSpec(FLOAT, 1.0, "0 the original frame, 1 the model's", min=0.0, max=1.0,
                                    smoothing_s=0.2)}

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        return [] if options["path"] else [("path", "an image_model node needs a path")]

    def open(self) -> None:
        cores = os.cpu_count() or 1
        threads = self.opts["threads"] or (max(1, cores - 1) if self.context.audio_running else cores)
        started = time.perf_counter()
        self.model, why = load_image_model(Path(self.opts["path"]).expanduser(), self.opts["backend"], threads)
        self.height, self.width = self.model.expect_image()
        self.fade = SwapFade()
        loaded = time.perf_counter()
        self.model.run_image(np.full((self.height, self.width, 3), 128, np.uint8))  # warm-up
        self.report(f"{self.model.path.name}: {self.model.backend}, {threads} thread(s)"
                    f"{' (a core left for audio)' if self.context.audio_running and not self.opts['threads'] else ''}, "
                    f"{self.width}x{self.height}; loaded in {1000 * (loaded - started):.0f} ms, warm-up "
                    f"{1000 * (time.perf_counter() - loaded):.0f} ms; {why}")

    def take_over(self, previous: Node) -> None:
        if isinstance(previous, ImageModelNode) and hasattr(previous, "model"):
            self.fade.begin(previous.paint, self.opts["swap_fade_s"])

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """The model's picture of a BGR frame, at the frame's size."""
        small = cv2.cvtColor(cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA),
                             cv2.COLOR_BGR2RGB)
        styled = cv2.cvtColor(self.model.run_image(small), cv2.COLOR_RGB2BGR)
        return cv2.resize(styled, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        frame = packet.value
        strength = self.param["strength"]
        if strength <= 0.0:
            return {"video": packet}
        styled = self.fade.apply(frame, self.paint(frame))
        if strength < 1.0:
            styled = cv2.addWeighted(styled, strength, frame, 1.0 - strength, 0.0)
        return {"video": packet.derive(styled)}
