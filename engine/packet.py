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
CONTROL = "control"  # a float (a feature, a trigger, a level), or a float32 vector of named elements
ANY = "any"

PORT_TYPES = (VIDEO, AUDIO, CONTROL, ANY)


def types_compatible(source_type: str, input_type: str) -> bool:
    return source_type == input_type or ANY in (source_type, input_type)


@dataclass(frozen=True)
class AudioFormat:
    """What an audio port carries. None where a node takes any value or adapts
    (the speakers copy a mono input to each channel)."""
    sample_rate: int | None = None
    channels: int | None = None
    block: int | None = None

    def disagreements(self, other: "AudioFormat") -> list[str]:
        """What two connected ends disagree on ('sample rate 44100 vs 48000 Hz')."""
        out = []
        for field, unit in (("sample_rate", " Hz"), ("channels", ""), ("block", " frames")):
            mine, theirs = getattr(self, field), getattr(other, field)
            if mine is not None and theirs is not None and mine != theirs:
                out.append(f"{field.replace('_', ' ')} {mine} vs {theirs}{unit}")
        return out

    def __str__(self) -> str:
        parts = [f"{self.sample_rate} Hz" if self.sample_rate else "any rate",
                 f"{self.channels} ch" if self.channels else "any channels",
                 f"{self.block}-frame blocks" if self.block else "any block"]
        return ", ".join(parts)


@dataclass(frozen=True)
class VectorFormat:
    """A control port carrying a fixed-length float vector with named elements
    (`f0_hz, loudness_db`); a control port without one carries a single float."""
    names: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.names)

    def __str__(self) -> str:
        return f"a vector of {self.size} ({', '.join(self.names)})"


def describe_control(fmt: VectorFormat | None) -> str:
    return "one float" if fmt is None else str(fmt)


@dataclass(frozen=True, slots=True)
class Packet:
    value: Any
    ts_us: int

    def derive(self, value: Any) -> "Packet":
        """A new value answering this packet: same timestamp."""
        return Packet(value, self.ts_us)
