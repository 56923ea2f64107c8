"""Video feedback: each output keeps a fading trace of the ones before it."""

from __future__ import annotations

import cv2
import numpy as np

from engine.node import Node, Port, register
from engine.packet import VIDEO, Packet
from engine.params import FLOAT, ParamSpec


@register
class TrailNode(Node):
    type_name = "trail"
    description = "Feedback trails: out = max(frame, previous out x amount) or a blend."
    inputs = (Port("video", VIDEO),)
    outputs = (Port("video", VIDEO),)
    params = {
        "amount": ParamSpec(FLOAT, 0.8, "how much of the previous output stays, 0 none",
                            min=0.0, max=0.98, smoothing_s=0.2),
        "glow": ParamSpec(FLOAT, 1.0, "1 keeps the brightest (light trails), 0 averages (smear)",
                          min=0.0, max=1.0, smoothing_s=0.2),
    }

    def open(self) -> None:
        self._previous: np.ndarray | None = None

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["video"]
        frame, amount, glow = packet.value, self.param["amount"], self.param["glow"]
        previous = self._previous
        if previous is None or previous.shape != frame.shape or amount <= 0.0:
            out = frame
        else:
            faded = cv2.convertScaleAbs(previous, alpha=amount)
            lighter = cv2.max(frame, faded)
            blended = cv2.addWeighted(frame, 1.0 - amount, previous, amount, 0.0)
            out = lighter if glow >= 1.0 else cv2.addWeighted(lighter, glow, blended, 1.0 - glow, 0.0)
        self._previous = out
        return {"video": packet.derive(out)}
