"""Mirror and flip: a webcam pointed at the performer reads naturally mirrored."""

from __future__ import annotations

import cv2

from engine.node import Node, Port, register
from engine.packet import VIDEO, Packet
from engine.params import BOOL, ParamSpec


@register
class MirrorNode(Node):
    type_name = "mirror"
    description = "Flip a video stream left-right and/or upside down."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    params = {
        "horizontal": ParamSpec(BOOL, True, "mirror left-right"),
        "vertical": ParamSpec(BOOL, False, "flip upside down"),
    }

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        horizontal, vertical = self.param["horizontal"], self.param["vertical"]
        if horizontal and vertical:
            frame = cv2.flip(packet.value, -1)
        elif horizontal:
            frame = cv2.flip(packet.value, 1)
        elif vertical:
            frame = cv2.flip(packet.value, 0)
        else:
            frame = packet.value
        return {"video": packet.derive(frame)}
