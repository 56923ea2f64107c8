"""Small node types for testing the engine's logic (fakes: no devices).

They are registered under names starting with `test_` so a test patch can
use them next to the real nodes.
"""

from __future__ import annotations

import threading
import time

from engine.clock import now_us
from engine.node import CommandArg, Node, OscCommand, Option, Port, register
from engine.packet import ANY, CONTROL, VIDEO, Packet
from engine.params import FLOAT, ParamSpec

# What the collecting sinks received (packet, arrival time), by node name; and
# how often each node opened.
RECEIVED: dict[str, list[tuple[Packet, int]]] = {}
OPENED: dict[str, int] = {}
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        RECEIVED.clear()
        OPENED.clear()


def _count_open(name: str) -> None:
    with _lock:
        OPENED[name] = OPENED.get(name, 0) + 1


@register
class TickSource(Node):
    """Emits an increasing counter at a fixed rate, stamped now."""
    type_name = "test_ticks"
    outputs = (Port("value", CONTROL), Port("frame", VIDEO))
    options = {"fps": Option(float, 100.0, "ticks per second"),
               "label": Option(str, "", "anything; changing it restarts the node")}

    def open(self) -> None:
        _count_open(self.name)
        self.count = 0

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.wait(1.0 / self.opts["fps"]):
            return None
        self.count += 1
        ts = now_us()
        return {"value": Packet(float(self.count), ts), "frame": Packet(self.count, ts)}


@register
class SlowNode(Node):
    """Passes its input on after `delay_ms`; counts what it processed."""
    type_name = "test_slow"
    inputs = (Port("value", ANY),)
    outputs = (Port("value", ANY),)
    params = {"delay_ms": ParamSpec(FLOAT, 0.0, "time spent per packet", min=0.0, max=1000.0)}

    def open(self) -> None:
        _count_open(self.name)
        self.processed = 0

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        time.sleep(self.param["delay_ms"] / 1000)
        self.processed += 1
        return {"value": inputs["value"]}


@register
class FailingNode(Node):
    """Raises on every packet whose value is a multiple of `every` (0: never)."""
    type_name = "test_failing"
    inputs = (Port("value", CONTROL),)
    outputs = (Port("value", CONTROL), Port("label", ANY))
    options = {"every": Option(int, 2, "fail on multiples of this")}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        packet = inputs["value"]
        if self.opts["every"] and int(packet.value) % self.opts["every"] == 0:
            raise ValueError(f"cannot handle {packet.value:g}")
        return {"value": packet.derive(packet.value * 10), "label": packet.derive(f"ok {packet.value:g}")}


@register
class CollectSink(Node):
    """Keeps every packet it gets in RECEIVED[name]."""
    type_name = "test_collect"
    inputs = (Port("value", ANY),)

    def open(self) -> None:
        _count_open(self.name)
        with _lock:
            RECEIVED.setdefault(self.name, [])

    def process(self, inputs: dict[str, Packet]) -> None:
        with _lock:
            RECEIVED[self.name].append((inputs["value"], now_us()))


@register
class SumNode(Node):
    """Two inputs: `main` triggers, `side` is sampled."""
    type_name = "test_mix"
    inputs = (Port("main", CONTROL), Port("side", CONTROL, trigger=False, optional=True))
    outputs = (Port("value", CONTROL),)

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        side = inputs["side"].value if "side" in inputs else 0.0
        return {"value": inputs["main"].derive(inputs["main"].value + side)}


@register
class FlakySource(Node):
    """Fails to open the first `failures` times (a device not plugged in yet)."""
    type_name = "test_flaky_source"
    outputs = (Port("value", CONTROL),)
    options = {"failures": Option(int, 2, "failed opens before it works")}

    def open(self) -> None:
        _count_open(self.name)
        if OPENED[self.name] <= self.opts["failures"]:
            raise OSError("no such device")

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.wait(0.01):
            return None
        return {"value": Packet(1.0, now_us())}


@register
class BrokenOpenNode(Node):
    """Cannot open."""
    type_name = "test_broken_open"
    inputs = (Port("value", CONTROL),)
    outputs = (Port("value", CONTROL),)

    def open(self) -> None:
        raise OSError("device busy")

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        raise AssertionError("never called")


@register
class LevelSource(Node):
    """Emits its `value` parameter as a control stream, `fps` times a second."""
    type_name = "test_level"
    outputs = (Port("value", CONTROL),)
    options = {"fps": Option(float, 50.0, "values per second")}
    params = {"value": ParamSpec(FLOAT, 0.0, "the value sent", min=-1e6, max=1e6)}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.wait(1.0 / self.opts["fps"]):
            return None
        return {"value": Packet(float(self.param["value"]), now_us())}


@register
class SlowOpenNode(Node):
    """Passes values on; its `open` takes `open_s` (a model loading)."""
    type_name = "test_slow_open"
    inputs = (Port("value", ANY),)
    outputs = (Port("value", ANY),)
    options = {"open_s": Option(float, 0.0, "seconds open takes"),
               "label": Option(str, "", "anything; changing it restarts the node")}

    def open(self) -> None:
        time.sleep(self.opts["open_s"])
        _count_open(self.name)

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        return {"value": inputs["value"]}


@register
class CommandedNode(Node):
    """Passes values on; keeps the OSC commands it was sent in RECEIVED[name + "/commands"]."""
    type_name = "test_commanded"
    inputs = (Port("value", ANY),)
    outputs = (Port("value", ANY),)
    osc_commands = {"mark": OscCommand((CommandArg("x", min=0.0, max=1.0), CommandArg("label", "s")),
                                       "mark a spot, with an optional label", optional=1),
                    "palette": OscCommand((CommandArg("r", min=0, max=1), CommandArg("g", min=0, max=1),
                                           CommandArg("b", min=0, max=1)), "colours", repeat=4)}

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet]:
        for command in self.take_commands():
            with _lock:
                RECEIVED.setdefault(f"{self.name}/commands", []).append(command)
        return {"value": inputs["value"]}
