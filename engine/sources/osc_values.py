"""Values sent over OSC as a control stream: a skeleton tracker in TouchDesigner,
a sensor in Max, Wekinator-style inputs, anything that sends numbers, becomes a
stream the learn node, control_map or any control input can take.

    [nodes.pose]
    type = "osc_values"
    values = ["left_hand_y", "right_hand_y", "head_x"]     # /pose/set Y1 Y2 X

`/NODE/set V1 V2 ...` takes exactly as many numbers as `values` names; each
message goes out at once as one packet (a vector, or a float for a single
value), stamped when it arrived. Nothing is sent until the first message.
"""

from __future__ import annotations

import threading

import numpy as np

from engine.clock import now_us
from engine.node import CommandArg, Node, OscCommand, Option, Port, register
from engine.packet import CONTROL, Packet, VectorFormat

MAX_VALUES = 64
WAIT_S = 0.1               # how long a wait for the next message lasts (the stop is heard within it)


@register
class OscValuesSource(Node):
    type_name = "osc_values"
    description = "Numbers sent over OSC (/NODE/set V1 V2 ...) as a control stream."
    outputs = (Port("value", CONTROL, "the values of the last /NODE/set"),)
    options = {
        "values": Option(list, ["value"], f"names of the values /NODE/set carries (1 to {MAX_VALUES})"),
    }
    osc_commands = {
        "set": OscCommand((CommandArg("value", "f"),), "the values, in the order `values` names them",
                          repeat=MAX_VALUES),
    }

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        names = options["values"]
        if not 1 <= len(names) <= MAX_VALUES or not all(isinstance(n, str) and n for n in names):
            return [("values", f"expected a list of 1 to {MAX_VALUES} names, e.g. [\"hand_x\", \"hand_y\"]")]
        if len(set(names)) != len(names):
            return [("values", "a name is given twice")]
        return []

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool) -> VectorFormat | None:
        names = options["values"]
        return VectorFormat(tuple(names)) if len(names) > 1 else None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.arrived = threading.Event()      # before open: a message may come first
        self.wrong = 0

    def open(self) -> None:
        self.report(f"/{self.name}/set takes {len(self.opts['values'])} number(s): {', '.join(self.opts['values'])}")

    def post_command(self, name: str, args: tuple, at_us: int | None = None) -> None:
        super().post_command(name, args, at_us)
        self.arrived.set()                  # wakes `process` at once: no polling

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if not self.arrived.wait(WAIT_S):
            return None
        self.arrived.clear()
        size = len(self.opts["values"])
        latest = None
        for _, args in self.take_commands():
            if len(args) == size:
                latest = args
            else:
                self.wrong += 1
                if self.wrong in (1, 10, 100, 1000):
                    self.report(f"/{self.name}/set with {len(args)} number(s), expected {size} "
                                f"({', '.join(self.opts['values'])}): ignored ({self.wrong} so far)")
        if latest is None:
            return None
        value = np.asarray(latest, np.float32) if size > 1 else float(latest[0])
        return {"value": Packet(value, now_us())}
