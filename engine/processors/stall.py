"""A stand-in for a slow model: holds each frame `ms` before passing it on.

For rehearsing a patch before its model exists, and for the benchmarks that
show a slow node lowers the frame rate without raising latency.
"""

from __future__ import annotations

from engine.node import Node, Port, register
from engine.packet import ANY, Packet
from engine.params import FLOAT, ParamSpec


@register
class StallNode(Node):
    type_name = "stall"
    description = "Passes packets on after spending `ms` on each (sleeps, as a model releases the GIL)."
    inputs = (Port("video", ANY),)
    outputs = (Port("video", ANY),)
    params = {"ms": ParamSpec(FLOAT, 50.0, "time spent per packet", min=0.0, max=5000.0, unit="ms")}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        self.wait(self.param["ms"] / 1000)
        return {"video": inputs["video"]}
