"""What a model node expects of a model file's tensors, checked when it loads.

A node declares a `TensorContract`: its input and output roles, each a rank
and the channel counts it accepts (an image with 1 or 3 channels, hint planes,
a conditioning vector, a recurrent state). The loaded model's tensors are
matched to the roles, by name where the file names them ("image", "style"),
else by shape, in order; a model that does not fit is refused with a
`ModelError` naming the file, the role and what the file has instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.runtime.backend import ModelError


@dataclass(frozen=True)
class Role:
    name: str                       # "image", "hints", "style", "state", ...
    rank: int                       # 4: [1, height, width, channels]; 2: [1, length]
    channels: tuple[int, ...] = ()  # accepted sizes of the last axis; () any
    description: str = ""

    def fits(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == self.rank and (not self.channels or int(shape[-1]) in self.channels)

    def describe(self) -> str:
        what = {4: "[1, height, width, C]", 2: "[1, N]"}.get(self.rank, f"rank {self.rank}")
        channels = "" if not self.channels else f" with C or N in {'/'.join(map(str, self.channels))}"
        return f"{self.name} {what}{channels}"


@dataclass(frozen=True)
class TensorContract:
    inputs: tuple[Role, ...]
    outputs: tuple[Role, ...]

    def match(self, path: Path, inputs: list[tuple[str, tuple[int, ...]]],
              outputs: list[tuple[str, tuple[int, ...]]]) -> tuple[dict[str, int], dict[str, int]]:
        """({role: input index}, {role: output index}) for a model's (name,
        shape) tensors, or ModelError naming the file and the role that fails."""
        return (_match(path, "input", self.inputs, inputs), _match(path, "output", self.outputs, outputs))


def _match(path: Path, side: str, roles: tuple[Role, ...],
           tensors: list[tuple[str, tuple[int, ...]]]) -> dict[str, int]:
    have = ", ".join(f"{name or '?'} {list(shape)}" for name, shape in tensors) or "none"
    if len(tensors) != len(roles):
        raise ModelError(f"{path}: has {len(tensors)} {side}(s) ({have}); this node needs "
                         + ", ".join(r.describe() for r in roles))
    chosen: dict[str, int] = {}
    free = list(range(len(tensors)))
    # Named tensors first ("serving_default_image:0" carries its role's name), then by shape.
    for by_name in (True, False):
        for role in roles:
            if role.name in chosen:
                continue
            for index in free:
                name, shape = tensors[index]
                if role.fits(tuple(shape)) and (not by_name or role.name in (name or "").lower()):
                    chosen[role.name] = index
                    free.remove(index)
                    break
    missing = [r for r in roles if r.name not in chosen]
    if missing:
        raise ModelError(f"{path}: no {side} fits {missing[0].describe()}; the file has {have}")
    return chosen
