"""A stateful sequence model (an RNN) on a control stream: each value in, one
step of the model, its output out. The node owns the model's state; `reset`
(rising edge) clears it. See engine/runtime/sequence.py for the file contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np


from engine.node import Node, Option, Port, register
from engine.packet import CONTROL, Packet, VectorFormat
from engine.runtime.backend import ModelError
from engine.params import BOOL, ParamSpec


@register
class SequenceModelNode(Node):
    type_name = "sequence_model"
    description = "Runs a stateful sequence model (x, state) -> (y, state) on a control stream."
    inputs = (Port("value", CONTROL),)
    outputs = (Port("value", CONTROL),)
    options = {
        "path": Option(str, "", "a sequence model .tflite (inputs x, state_0..; outputs y, state_0..)"),
        "threads": Option(int, 1, "inference threads", min=1, max=64),
        "x_elements": Option(list, [], "names of the input vector's elements; empty: one float"),
        "y_elements": Option(list, [], "names of the output vector's elements; empty: one float"),
    }
    swappable = frozenset({"path"})
    swap_suffixes = (".tflite",)
    params = {"reset": ParamSpec(BOOL, False, "switch on to clear the model's state")}

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        problems = [] if options["path"] else [("path", "a sequence_model node needs a path")]
        for key in ("x_elements", "y_elements"):
            if not all(isinstance(name, str) and name for name in options[key]):
                problems.append((key, "expected a list of element names (strings)"))
        return problems

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool) -> VectorFormat | None:
        names = options["x_elements"] if is_input else options["y_elements"]
        return VectorFormat(tuple(names)) if names else None

    def open(self) -> None:
        from engine.runtime.sequence import SequenceModel

        self.model = SequenceModel(Path(self.opts["path"]).expanduser(), self.opts["threads"])
        for role, shape, key in (("x", self.model.x_shape, "x_elements"), ("y", self.model.y_shape, "y_elements")):
            size, declared = int(np.prod(shape)), len(self.opts[key]) or 1
            if size != declared:
                raise ModelError(f"{self.model.path}: {role} holds {size} values {list(shape)}; the patch declares "
                                 f"{declared} ({key} = {self.opts[key]})")
        self._reset_was = False
        self.report(f"{self.model.path.name}: x {list(self.model.x_shape)}, state "
                    + ", ".join(f"{n} {list(s)}" for n, s in self.model.state_shapes.items()))

    def take_over(self, previous: Node) -> None:
        # A new model of the same shape goes on from where the old one was.
        if isinstance(previous, SequenceModelNode) and hasattr(previous, "model") and \
                previous.model.state_shapes == self.model.state_shapes:
            self.model.state = {k: v.copy() for k, v in previous.model.state.items()}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        reset = bool(self.param["reset"])
        if reset and not self._reset_was:
            self.model.reset()
        self._reset_was = reset
        packet = inputs["value"]
        y = self.model.step(packet.value)
        return {"value": packet.derive(y.ravel().astype(np.float32) if self.opts["y_elements"] else float(y.ravel()[0]))}
