"""An image-to-image model (any `.tflite` or `.keras` with one RGB input and
one RGB output) on a video stream: the frame is converted to RGB and resized
to the model's size once, run, resized back and blended with the original by
`strength`. Everything else (loading off the window's thread, threads, swap
crossfade, errors) is the model node base's (engine/runtime/model_node.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.node import register
from engine.runtime.model_node import ModelNode
from engine.runtime.models import load_image_model


@register
class ImageModelNode(ModelNode):
    type_name = "image_model"
    description = "Runs an image-to-image model on each frame (LiteRT on CPU), blended by strength."

    def load(self, path: Path, backend: str, threads: int):
        return load_image_model(path, backend, threads)

    def warm_up(self) -> None:
        self.height, self.width = self.model.expect_image()
        self.model.run_image(np.full((self.height, self.width, 3), 128, np.uint8))

    def describe(self, runtime: str) -> str:
        return f"{runtime}, {self.width}x{self.height}"

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """The model's picture of a BGR frame, at the frame's size."""
        small = cv2.cvtColor(cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA),
                             cv2.COLOR_BGR2RGB)
        styled = cv2.cvtColor(self.model.run_image(small), cv2.COLOR_RGB2BGR)
        return cv2.resize(styled, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
