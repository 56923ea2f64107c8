"""Grayscale, blended with the original by `amount`."""

from __future__ import annotations

import cv2

from engine.node import Node, Port, register
from engine.packet import VIDEO, Packet
from engine.params import FLOAT, ParamSpec


@register
class GrayscaleNode(Node):
    type_name = "grayscale"
    description = "Turn a video stream grey (amount 1) or partly grey."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    params = {"amount": ParamSpec(FLOAT, 1.0, "0 colour, 1 grey", min=0.0, max=1.0, smoothing_s=0.2)}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        amount = self.param["amount"]
        if amount <= 0.0:
            return {"video": packet}
        gray = cv2.cvtColor(cv2.cvtColor(packet.value, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        if amount < 1.0:
            gray = cv2.addWeighted(gray, amount, packet.value, 1.0 - amount, 0.0)
        return {"video": packet.derive(gray)}
