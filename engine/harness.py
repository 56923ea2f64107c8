"""Run one node by hand: feed it timestamped packets, collect what it answers.

It drives the same `NodeRunner` the engine uses (mailboxes, bypass, figures),
only synchronously, so a test sees exactly what a patch would do:

    with NodeHarness("color_adjust", params={"saturation": 0.0}) as node:
        out = node.feed(video=Packet(frame, 1000))
        assert out["video"].ts_us == 1000
"""

from __future__ import annotations

from typing import Any, Callable

from engine.clock import now_us
from engine.events import EventLog
from engine.graph import NodeRunner
from engine.node import EngineContext, Node, node_types
from engine.packet import Packet
from engine.params import ParamStore, ParamView
from engine.patch import NodeDecl


class Collector:
    """Stands where a downstream mailbox would and keeps everything it gets."""

    def __init__(self) -> None:
        self.packets: list[Packet] = []

    def put(self, packet: Packet) -> None:
        self.packets.append(packet)


class NodeHarness:
    def __init__(self, node_type: str | type[Node], options: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None, name: str = "node",
                 clock: Callable[[], int] = now_us, context: EngineContext | None = None,
                 connected: tuple[str, ...] | None = None) -> None:
        cls = node_types()[node_type] if isinstance(node_type, str) else node_type
        full_options = {key: option.default for key, option in cls.options.items()}
        full_options.update(options or {})
        self.store = ParamStore(clock=clock)
        self.store.define({f"{name}/{p}": spec for p, spec in cls.params.items()})
        for param, value in (params or {}).items():
            self.store.set(f"{name}/{param}", value, fade_s=0)
        self.events = EventLog()
        context = context or EngineContext()
        context.report = lambda node, message: self.events.add("info", node, message)
        context.params = self.store
        # Every input is connected (to "test.<port>") unless `connected` names the ones that are.
        wired = {port.name: ("test", port.name) for port in cls.inputs
                 if connected is None or port.name in connected}
        decl = NodeDecl(name, cls.type_name, full_options, wired, dict(cls.params))
        self.node = cls(name, full_options, ParamView(self.store, name), context)
        self.node.wiring = {port: f"{source}.{source_port}" for port, (source, source_port) in wired.items()}
        self.runner = NodeRunner(decl, self.node, self.events)
        self.outputs: dict[str, list[Packet]] = {}
        for port in cls.outputs:
            collector = Collector()
            self.outputs[port.name] = collector.packets
            self.runner.downstream[port.name] = [collector]

    def __enter__(self) -> "NodeHarness":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> bool:
        return self.runner.open()

    def close(self) -> None:
        self.node.stopping.set()
        self.runner.close()

    def push(self, port: str, packet: Packet) -> None:
        """Deliver a packet to an input mailbox without running the node."""
        self.runner.mailboxes[port].put(packet)

    def step(self) -> dict[str, Packet]:
        """Run the node once (a source produces once); return what it emitted."""
        before = {port: len(packets) for port, packets in self.outputs.items()}
        if self.runner.is_source:
            self.runner.source_step()
        else:
            self.runner.run_once(timeout=0)
        return {port: packets[-1] for port, packets in self.outputs.items()
                if len(packets) > before[port]}

    def feed(self, **packets: Packet) -> dict[str, Packet]:
        """Push one packet per named port, then run the node once."""
        for port, packet in packets.items():
            self.push(port, packet)
        return self.step()

    def set_param(self, name: str, value: Any, fade_s: float | None = None) -> None:
        self.store.set(f"{self.runner.name}/{name}", value, fade_s)

    @property
    def stats(self) -> dict[str, Any]:
        return self.runner.snapshot()
