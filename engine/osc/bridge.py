"""Puts OSC around a running engine: server, streams out, heartbeat, OSCQuery.

Settings come from the patch's [osc] table, and the command line overrides
them. OSC in listens on 127.0.0.1:9000 unless told otherwise; it binds beyond
the loopback only when asked, and then honours an allow-list of senders. A port
that is taken is reported and the show runs on without OSC in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.events import ERROR, INFO
from engine.graph import Engine, Receiver
from engine.osc.address_space import STATUS_PREFIX, address_space, node_commands, stream_addresses
from engine.osc.query import OscQueryServer
from engine.osc.sender import Heartbeat, OscSender, StreamTap, parse_target
from engine.osc.server import OscServer
from engine.ops.health import ProcessFigures, health
from engine.patch import Patch

DEFAULT_LISTEN = ("127.0.0.1", 9000)
DEFAULT_HEARTBEAT_TO = "127.0.0.1:9001"   # monitoring listens here without editing the patch


@dataclass
class OscConfig:
    listen: tuple[str, int] | None = DEFAULT_LISTEN
    send_to: list[tuple[str, int]] = field(default_factory=list)
    allow: tuple[str, ...] = ()
    streams: tuple[str, ...] = ("*",)
    bundle: bool = False
    heartbeat_s: float = 1.0
    query: bool = True
    heartbeat_to: tuple[str, int] | None = None
    process: bool = True       # the server in a process of its own (engine/osc/process_server.py)


def osc_config(patch: Patch, listen: str | None = None, send_to: list[str] | None = None,
               off: bool = False) -> OscConfig:
    """The patch's [osc] settings with the command line's on top. ValueError on a bad address."""
    settings = patch.osc
    config = OscConfig(
        allow=tuple(settings.get("allow", ())), streams=tuple(settings.get("streams", ("*",))),
        bundle=settings.get("bundle", False), heartbeat_s=float(settings.get("heartbeat_s", 1.0)),
        query=settings.get("query", True), process=settings.get("process", True))
    chosen = listen if listen is not None else settings.get("listen")
    if off:
        config.listen = None
    elif chosen is not None:
        config.listen = parse_target(str(chosen))
    config.send_to = [parse_target(t) for t in (send_to or settings.get("send_to", []))]
    monitor = settings.get("heartbeat_to", DEFAULT_HEARTBEAT_TO)
    config.heartbeat_to = parse_target(monitor) if monitor else None
    return config


class OscBridge:
    def __init__(self, engine: Engine, config: OscConfig, restarts: Callable[[], int] = lambda: 0) -> None:
        self.engine, self.config = engine, config
        self.restarts = restarts
        self.process = ProcessFigures(engine.context.output_dir)
        self.server: OscServer | None = None
        self.sender: OscSender | None = None
        self.monitor: OscSender | None = None
        self.scheduler: Any = None          # opening hours (engine/ops/schedule.py), when the patch has them
        self.heartbeat: Heartbeat | None = None
        self.query: OscQueryServer | None = None
        self.scene = ""
        self.started = time.monotonic()
        self._addresses: tuple[Patch, list] | None = None
        self._commands: tuple[Patch, dict] | None = None

    def start(self) -> None:
        """Call before `engine.start()`, so the stream taps are in the first wiring."""
        events, config = self.engine.events, self.config
        if config.listen is not None:
            host, port = config.listen
            if host not in ("127.0.0.1", "localhost") and not config.allow:
                events.add(INFO, "osc", f"listening on {host}: any machine on the network can change "
                                        "parameters; set [osc] allow = [...] to limit who")
            try:
                server_class = OscServer
                if config.process:
                    from engine.osc.process_server import OscProcessServer as server_class
                self.server = server_class(self.engine.store, events, host, port, config.allow,
                                           self.scene_recalled, self._swap, commands=self.commands,
                                           on_command=self.engine.command)
            except OSError as error:
                events.add(ERROR, "osc", f"cannot listen on {host}:{port} ({error.strerror}); running without OSC in")
            else:
                self.server.start()
                events.add(INFO, "osc", f"listening for OSC on {self.server.host}:{self.server.port} (UDP)"
                           + (f", allowing {', '.join(config.allow)}" if config.allow else ""))
                if config.query:
                    self._start_query(host, self.server.port)
        senders = []
        if config.send_to:
            self.sender = OscSender(config.send_to, config.bundle)
            self.sender.start()
            self.engine.taps = self._taps
            senders.append(self.sender)
            events.add(INFO, "osc", "sending streams and a heartbeat to "
                       + ", ".join(f"{h}:{p}" for h, p in config.send_to)
                       + (" as bundles" if config.bundle else ""))
        if config.heartbeat_to and config.heartbeat_to not in config.send_to:
            self.monitor = OscSender([config.heartbeat_to], config.bundle)
            senders.append(self.monitor)
            events.add(INFO, "osc", "heartbeat for monitoring to {}:{}".format(*config.heartbeat_to))
        if senders:
            self.heartbeat = Heartbeat(senders, self.status_messages, config.heartbeat_s,
                                       on_error=lambda text: events.add(ERROR, "osc", text))
            self.heartbeat.start()

    def _start_query(self, host: str, port: int) -> None:
        try:
            # Named after the patch, so a tool browsing two engines tells them apart.
            self.query = OscQueryServer(self.addresses, self.engine.store, host, port, port, health=self.health,
                                        name=f"tensorstage {self.engine.patch.name}", allow=self.config.allow,
                                        status=lambda: {a: list(v) for a, v in self.status_messages()})
        except OSError as error:
            self.engine.events.add(ERROR, "osc", f"OSCQuery cannot listen on {host}:{port} ({error.strerror})")
            return
        self.query.start()
        self.engine.events.add(INFO, "osc", f"OSCQuery on http://{host}:{self.query.port}/")

    def stop(self) -> None:
        for part in (self.heartbeat, self.query, self.server, self.sender, self.monitor):
            if part is not None:
                part.stop()

    def addresses(self):
        """The patch's address space, made again only when a reload changed the patch."""
        patch = self.engine.patch
        if self._addresses is None or self._addresses[0] is not patch:
            self._addresses = (patch, address_space(patch, self.config.streams))
        return self._addresses[1]

    def commands(self) -> dict:
        """The nodes' own OSC addresses: {address: (node, name, OscCommand)}, made
        again only when a reload changed the patch (asked for every message)."""
        patch = self.engine.patch
        if self._commands is None or self._commands[0] is not patch:
            self._commands = (patch, node_commands(patch))
        return self._commands[1]

    def _taps(self, patch: Patch) -> dict[tuple[str, str], list[Receiver]]:
        assert self.sender is not None
        taps: dict[tuple[str, str], list[Receiver]] = {}
        for entry in stream_addresses(patch, self.config.streams):
            node, port = entry.address[1:].split("/")
            taps[(node, port)] = [StreamTap(entry.address, self.sender)]
        return taps

    def _swap(self, node: str, path: str) -> None:
        """/tensorstage/swap NODE PATH: the model node reloads beside itself and
        crossfades; ValueError when the swap is not allowed (engine/swap.py)."""
        from engine.patch import PatchError
        from engine.swap import SWAP_OPTION, check_swap
        model = check_swap(self.engine.patch, node, path)
        try:
            self.engine.change_option(node, SWAP_OPTION, str(model))
        except PatchError as error:
            raise ValueError(str(error).splitlines()[0]) from None

    def scene_recalled(self, name: str, how: str = "") -> None:
        self.scene = name
        self.engine.events.add(INFO, "osc", f"scene {name!r} recalled" + (f" {how}" if how else ""))

    def health(self) -> dict[str, Any]:
        return health(self.engine, self.started, self.scene, self.restarts(), self.process,
                      self.engine.events.last_error, None if self.scheduler is None else self.scheduler.open,
                      osc_pid=getattr(getattr(self.server, "process", None), "pid", 0) or 0)

    def status_messages(self) -> list[tuple[str, tuple[Any, ...]]]:
        nodes = self.engine.snapshot()
        messages: list[tuple[str, tuple[Any, ...]]] = [
            (f"{STATUS_PREFIX}/alive", (round(time.monotonic() - self.started, 3),)),
            (f"{STATUS_PREFIX}/patch", (self.engine.patch.name,)),
            (f"{STATUS_PREFIX}/scene", (self.scene,)),
            (f"{STATUS_PREFIX}/errors", (sum(f["errors"] for f in nodes.values()),)),
            (f"{STATUS_PREFIX}/dropped", (sum(f["dropped"] for f in nodes.values()),)),
            (f"{STATUS_PREFIX}/osc/ignored", (self.server.ignored if self.server else 0,)),
        ]
        if self.engine.patch.osc.get("process", True):
            messages.append((f"{STATUS_PREFIX}/osc/restarts", (getattr(self.server, "restarts", 0),)))
        messages += [(f"{STATUS_PREFIX}/{address}", (value,)) for address, value in self.engine.status().items()]
        messages += [(f"{STATUS_PREFIX}/{name}", (value,)) for name, value in self.process.read().items()]
        messages.append((f"{STATUS_PREFIX}/restarts", (self.restarts(),)))
        if self.scheduler is not None:
            messages.append((f"{STATUS_PREFIX}/schedule/open", (int(bool(self.scheduler.open)),)))
        offset = self.engine.av_offset_ms()
        if offset is not None:
            messages.append((f"{STATUS_PREFIX}/av_offset_ms", (round(float(offset), 2),)))
        for name, figures in nodes.items():
            messages += [
                (f"{STATUS_PREFIX}/{name}/fps", (float(figures["fps"]),)),
                (f"{STATUS_PREFIX}/{name}/latency_ms", (float(figures["latency_p50_ms"] or 0.0),)),
                (f"{STATUS_PREFIX}/{name}/dropped", (int(figures["dropped"]),)),
            ]
        return messages
