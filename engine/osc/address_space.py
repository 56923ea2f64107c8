"""Every OSC address a running patch answers or sends, with types and ranges.

One list serves the server (what may be set), `tensorstage osc list` (what a
human reads), OSCQuery (what a tool browses) and the examples' tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.osc.patterns import matches
from engine.node import CommandArg, OscCommand, StatusFigure
from engine.ops.health import PROCESS_FIGURES
from engine.packet import CONTROL, VectorFormat
from engine.params import BOOL, CHOICE, FLOAT, INT, ParamSpec
from engine.patch import Patch

IN, OUT = "in", "out"
STATUS_PREFIX = "/tensorstage"
_TYPE_TAGS = {FLOAT: "f", INT: "i", BOOL: "i", CHOICE: "s"}


@dataclass(frozen=True)
class OscAddress:
    address: str
    direction: str          # "in": the engine listens; "out": the engine sends
    type_tag: str           # OSC type tags of the arguments
    description: str
    kind: str               # param, command, stream, status
    spec: ParamSpec | None = None

    @property
    def range_text(self) -> str:
        spec = self.spec
        if spec is None:
            return ""
        if spec.type == CHOICE:
            return "|".join(spec.choices)
        if spec.type == BOOL:
            return "0|1"
        return f"{spec.min:g}..{spec.max:g}" if spec.range else ""


def stream_addresses(patch: Patch, streams: tuple[str, ...] = ("*",)) -> list[OscAddress]:
    """The control outputs sent out, `/node/port`, filtered by `streams` patterns of node.port."""
    out = []
    for decl in patch.nodes.values():
        for port in decl.node_class.outputs:
            if port.type != CONTROL:
                continue
            if not any(matches(pattern, f"{decl.name}.{port.name}") for pattern in streams):
                continue
            fmt = decl.node_class.port_format(decl.options, port, False)
            tags = "f" * fmt.size if isinstance(fmt, VectorFormat) else "f"
            text = port.description or f"{port.name} of {decl.name} ({decl.type})"
            if isinstance(fmt, VectorFormat):
                text += f" [{', '.join(fmt.names)}]"
            out.append(OscAddress(f"/{decl.name}/{port.name}", OUT, tags, text, "stream"))
    return out


def status_addresses(patch: Patch) -> list[OscAddress]:
    fixed = [
        ("alive", "f", "seconds since start; sent every heartbeat"),
        ("patch", "s", "name of the running patch"),
        ("scene", "s", "last scene recalled ('' if none)"),
        ("errors", "i", "node errors since start"),
        ("dropped", "i", "frames dropped by flow limiting since start"),
        ("osc/ignored", "i", "OSC messages ignored (unknown address, bad type, malformed)"),
    ] + ([("osc/restarts", "i", "times the OSC process was started again (it died)")]
         if patch.osc.get("process", True) else [])
    fixed += list(PROCESS_FIGURES)
    if patch.schedule:
        fixed.append(("schedule/open", "i", "1 while the schedule (or /tensorstage/schedule) has the show open"))
    out = [OscAddress(f"{STATUS_PREFIX}/{name}", OUT, tag, text, "status") for name, tag, text in fixed]
    out += [OscAddress(f"{STATUS_PREFIX}/{figure.address}", OUT, figure.type_tag, figure.description, "status")
            for figure in declared_status(patch).values()]
    presents = {d.node_class.presents for d in patch.nodes.values()}
    if {"video", "audio"} <= presents:
        out.append(OscAddress(f"{STATUS_PREFIX}/av_offset_ms", OUT, "f", "how much later the picture reaches the "
                              "screen than the sound the speakers (ms, capture to output)", "status"))
    for name in patch.nodes:
        out += [
            OscAddress(f"{STATUS_PREFIX}/{name}/fps", OUT, "f", f"frames per second of {name}", "status"),
            OscAddress(f"{STATUS_PREFIX}/{name}/latency_ms", OUT, "f",
                       f"median latency at {name} (ms since capture)", "status"),
            OscAddress(f"{STATUS_PREFIX}/{name}/dropped", OUT, "i", f"frames {name} dropped", "status"),
        ]
    return out


def declared_status(patch: Patch) -> dict[str, StatusFigure]:
    """The status figures the patch's node types declare, by address (once each)."""
    figures: dict[str, StatusFigure] = {}
    for decl in patch.nodes.values():
        for figure in decl.node_class.declared_status(patch.audio):
            figures.setdefault(figure.address, figure)
    return figures


SCHEDULE_COMMAND = OscCommand((CommandArg("open", "f", 0, 1),),
                              "open (1) or close (0) by hand until the next scheduled opening or closing")


def node_commands(patch: Patch) -> dict:
    """The addresses node types declare besides their parameters, and the
    engine's own (/tensorstage/schedule when the patch has opening hours):
    {"/<node>/<name>": (node, name, OscCommand)}."""
    commands = {f"/{name}/{command}": (name, command, spec) for name, decl in patch.nodes.items()
                for command, spec in decl.node_class.osc_commands.items()}
    if patch.schedule:
        commands[f"{STATUS_PREFIX}/schedule"] = (STATUS_PREFIX[1:], "schedule", SCHEDULE_COMMAND)
    return commands


def swappable_nodes(patch: Patch) -> dict[str, frozenset[str]]:
    """Nodes whose options may be swapped over OSC, with those options."""
    return {name: d.node_class.swappable for name, d in patch.nodes.items() if d.node_class.swappable}


def address_space(patch: Patch, streams: tuple[str, ...] = ("*",)) -> list[OscAddress]:
    addresses = [OscAddress(f"/{key}", IN, _TYPE_TAGS[spec.type], spec.description, "param", spec)
                 for key, spec in patch.exposed_params().items()]
    model_nodes = swappable_nodes(patch)
    addresses += [
        OscAddress("/tensorstage/swap", IN, "ss", "load another model into a model node (NODE PATH): it opens "
                   "beside the running one and crossfades in; a model that fails to load leaves the running one",
                   "command"),
    ][: 1 if model_nodes else 0] + [
        OscAddress("/scene/recall", IN, "s[f]", "recall a scene by name, with an optional fade in seconds",
                   "command"),
        OscAddress("/scene/store", IN, "s", "store the current values as a scene", "command"),
    ]
    addresses += [OscAddress(address, IN, spec.type_tag(), spec.description, "command")
                  for address, (_, _, spec) in node_commands(patch).items()]
    return addresses + stream_addresses(patch, streams) + status_addresses(patch)
