"""Crossfade two video streams. Stream `a` sets the pace; `b` is sampled."""

from __future__ import annotations

import cv2

from engine.node import Node, Port, register
from engine.packet import VIDEO, Packet
from engine.params import FLOAT, ParamSpec
from engine.processors.fit import fit_frame


@register
class MixNode(Node):
    type_name = "mix"
    description = "Crossfade from stream a (mix 0) to stream b (mix 1)."
    inputs = (Port("a", VIDEO, "sets the frame rate and size"),
              Port("b", VIDEO, "sampled: its newest frame is used", trigger=False, optional=True))
    outputs = (Port("video", VIDEO),)
    params = {"mix": ParamSpec(FLOAT, 0.5, "0 only a, 1 only b", min=0.0, max=1.0, smoothing_s=0.5)}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        a = inputs["a"]
        mix = self.param["mix"]
        if "b" not in inputs or mix <= 0.0:
            return {"video": a}
        height, width = a.value.shape[:2]
        b = fit_frame(inputs["b"].value, width, height, "crop")
        if mix >= 1.0:
            return {"video": a.derive(b)}
        return {"video": a.derive(cv2.addWeighted(a.value, 1.0 - mix, b, mix, 0.0))}
