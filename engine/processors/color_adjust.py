"""Brightness, contrast and saturation: the first thing a performer reaches for."""

from __future__ import annotations

import cv2

from engine.node import Node, Port, register
from engine.packet import VIDEO, Packet
from engine.params import FLOAT, ParamSpec


@register
class ColorAdjustNode(Node):
    type_name = "color_adjust"
    description = "Brightness, contrast and saturation of a video stream."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    params = {
        "brightness": ParamSpec(FLOAT, 0.0, "added light, -1 black to +1 white", min=-1.0, max=1.0,
                                smoothing_s=0.1),
        "contrast": ParamSpec(FLOAT, 1.0, "contrast around mid grey, 1 unchanged", min=0.0, max=3.0,
                              smoothing_s=0.1),
        "saturation": ParamSpec(FLOAT, 1.0, "colour amount, 0 grey, 1 unchanged", min=0.0, max=3.0,
                                smoothing_s=0.1),
    }

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        frame = packet.value
        brightness, contrast, saturation = (self.param["brightness"], self.param["contrast"],
                                            self.param["saturation"])
        if saturation != 1.0:
            gray = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            frame = cv2.addWeighted(frame, saturation, gray, 1.0 - saturation, 0.0)
        if contrast != 1.0 or brightness != 0.0:
            frame = cv2.convertScaleAbs(frame, alpha=contrast,
                                        beta=brightness * 255.0 + 128.0 * (1.0 - contrast))
        return {"video": packet.derive(frame)}
