"""Drive a parameter from a control stream inside the patch: the room's
loudness opens the style's strength, the beat phase morphs between paintings,
motion fades the trail. A linear map from an input range to the parameter's
range, clamped; the target parameter's own smoothing makes it glide.

    [nodes.loudness_to_strength]
    type = "control_map"
    inputs.value = "sound.loudness_db"
    target = "style.strength"
    in_low = -50.0
    in_high = -10.0
    out_low = 0.3
    out_high = 1.0
"""

from __future__ import annotations

from engine.node import Node, Option, Port, register
from engine.packet import CONTROL, Packet
from engine.params import ParamError


@register
class ControlMapNode(Node):
    type_name = "control_map"
    description = "Maps a control stream linearly onto another node's parameter."
    inputs = (Port("value", CONTROL),)
    outputs = ()
    options = {
        "target": Option(str, "", "the parameter to drive, as node.param (e.g. style.strength)",
                         refers_to="param"),
        "in_low": Option(float, 0.0, "input value that maps to out_low"),
        "in_high": Option(float, 1.0, "input value that maps to out_high"),
        "out_low": Option(float, 0.0, "parameter value at in_low"),
        "out_high": Option(float, 1.0, "parameter value at in_high"),
    }

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        problems = []
        if options["target"].count(".") != 1:
            problems.append(("target", "name the parameter to drive as node.param, e.g. 'style.strength'"))
        if options["in_low"] == options["in_high"]:
            problems.append(("in_high", "in_low and in_high must differ"))
        return problems

    def open(self) -> None:
        self.key = self.opts["target"].replace(".", "/")
        self.writes = 0

    def process(self, inputs: dict[str, Packet]) -> None:
        o = self.opts
        t = (float(inputs["value"].value) - o["in_low"]) / (o["in_high"] - o["in_low"])
        value = o["out_low"] + min(1.0, max(0.0, t)) * (o["out_high"] - o["out_low"])
        try:
            self.context.set_param(self.key, value)
        except ParamError as error:
            raise ParamError(f"target {o['target']!r}: {error}") from None
        self.writes += 1
        return None
