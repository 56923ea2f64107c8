"""Packets and the port types that carry them.

A packet is a value with the engine-clock time (integer microseconds) of the
moment it describes: a camera frame's grab time, an audio block's capture time.
A processor answers an input with `packet.derive(new_value)`, keeping that time,
so the latency at a sink is simply `now_us() - packet.ts_us`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Port types. A connection is valid when both ends name the same type, or
# either end is ANY.
VIDEO = "video"      # numpy uint8 array, height x width x 3, BGR (OpenCV's order)
AUDIO = "audio"      # numpy float32 array, frames x channels, in [-1, 1]
CONTROL = "control"  # a float: a feature, a trigger, a level
ANY = "any"

PORT_TYPES = (VIDEO, AUDIO, CONTROL, ANY)


def types_compatible(source_type: str, input_type: str) -> bool:
    return source_type == input_type or ANY in (source_type, input_type)


@dataclass(frozen=True, slots=True)
class Packet:
    value: Any
    ts_us: int

    def derive(self, value: Any) -> "Packet":
        """A new value answering this packet: same timestamp."""
        return Packet(value, self.ts_us)
