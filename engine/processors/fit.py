"""Fit a frame to a size: letterbox (bars), crop (fill) or stretch.

Used as a node and by the window, which fits every frame to the screen.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet

FIT_MODES = ("letterbox", "crop", "stretch")


def fit_frame(frame: np.ndarray, width: int, height: int, mode: str = "letterbox") -> np.ndarray:
    """`frame` resized to exactly width x height, keeping its aspect unless stretched."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    if mode == "stretch":
        return _resize(frame, width, height)
    scale = min(width / w, height / h) if mode == "letterbox" else max(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = _resize(frame, new_w, new_h)
    if mode == "crop":
        left, top = (new_w - width) // 2, (new_h - height) // 2
        return resized[top: top + height, left: left + width]
    canvas = np.zeros((height, width, 3), dtype=frame.dtype)
    left, top = (width - new_w) // 2, (height - new_h) // 2
    canvas[top: top + new_h, left: left + new_w] = resized
    return canvas


def _resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width * height < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


@register
class FitNode(Node):
    type_name = "fit"
    description = "Resize a video stream to a size, letterboxed, cropped or stretched to its aspect."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    options = {
        "width": Option(int, 640, "output width in pixels", min=16, max=7680),
        "height": Option(int, 360, "output height in pixels", min=16, max=4320),
        "mode": Option(str, "letterbox", "letterbox: bars, crop: fill and cut, stretch: distort",
                       choices=FIT_MODES),
    }

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        return {"video": packet.derive(fit_frame(packet.value, self.opts["width"], self.opts["height"],
                                                 self.opts["mode"]))}
