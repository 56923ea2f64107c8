"""Numbers from pictures: how much moves, and the mean colour, as control streams.

Computed on a small grey thumbnail (64 px wide), so it costs well under a
millisecond per frame; meant to drive parameters and to be sent over OSC.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.node import Node, Option, Port, register
from engine.packet import CONTROL, VIDEO, Packet


@register
class VideoAnalysisNode(Node):
    type_name = "video_analysis"
    description = "Motion amount, brightness and mean colour of a video stream, 0..1 each."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("motion", CONTROL, "mean change between frames, 0 still .. 1 all pixels flip"),
               Port("brightness", CONTROL, "mean luma"),
               Port("red", CONTROL), Port("green", CONTROL), Port("blue", CONTROL))
    options = {"width": Option(int, 64, "analysis thumbnail width", min=8, max=640)}

    def open(self) -> None:
        self._previous: np.ndarray | None = None

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        frame = packet.value
        width = self.opts["width"]
        height = max(1, round(frame.shape[0] * width / frame.shape[1]))
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        if self._previous is None or self._previous.shape != gray.shape:
            motion = 0.0
        else:
            motion = float(cv2.absdiff(gray, self._previous).mean()) / 255.0
        self._previous = gray
        blue, green, red = (float(v) / 255.0 for v in small.reshape(-1, 3).mean(axis=0))
        return {"motion": packet.derive(motion), "brightness": packet.derive(float(gray.mean()) / 255.0),
                "red": packet.derive(red), "green": packet.derive(green), "blue": packet.derive(blue)}
