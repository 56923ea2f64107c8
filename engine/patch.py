"""Patch files: loading a TOML performance and validating all of it up front.

A patch names its nodes, their options, how they connect, which parameters are
exposed (with ranges, smoothing and descriptions) and named scenes. Nothing runs
until the whole file is valid; every mistake is reported as one line naming the
file, the node and the key, so a performer can fix it before the show:

    patches/live.toml: node "fx", key "saturaton": unknown key for a color_adjust node; did you mean "saturation"?
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from engine.node import Node, Option, node_types
from engine.packet import CONTROL, AudioFormat, VectorFormat, describe_control, types_compatible
from engine.params import CHOICE, ParamError, ParamSpec, describe

NODE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TOP_LEVEL_KEYS = ("patch", "nodes", "scenes", "osc", "audio", "show", "schedule")
OSC_KEYS = {  # key: (expected kind, what it is)
    "listen": ((str, int), "[HOST:]PORT the OSC server binds (127.0.0.1:9000 by default)"),
    "send_to": (list, "HOST:PORT targets for control streams and the heartbeat"),
    "allow": (list, "sender addresses allowed when listening beyond 127.0.0.1"),
    "streams": (list, "which control outputs to send, as node.port patterns (all by default)"),
    "bundle": (bool, "send the streams as one bundle per tick instead of one message each"),
    "heartbeat_s": ((int, float), "seconds between status heartbeats"),
    "heartbeat_to": (str, "HOST:PORT that always gets the heartbeat, with or without send_to, so monitoring "
                          "can listen without editing the patch (127.0.0.1:9001 by default; \"\" for none)"),
    "query": (bool, "serve OSCQuery (HTTP, same port number as OSC) for discovery"),
    "process": (bool, "the OSC server in a process of its own (default; a flood costs the engine less); "
                      "false: in a thread"),
    "swap_roots": (list, "folders /tensorstage/swap may load models from, besides the patch's folder and the "
                         "shipped models"),
}
AUDIO_KEYS = {
    "process": (bool, "the sound devices in a process of their own (default: the engine's Python work cannot "
                      "delay an audio callback); false: in the engine's process. Taken when the audio nodes open"),
    "realtime": (bool, "the audio process's stream threads at real-time priority where the system allows it "
                       "(default), else at a higher nice; false: normal priority"),
}
SHOW_KEYS = {  # an installation's run: engine/ops
    "kiosk": (bool, "fullscreen, no cursor, no screen blanking; q, Esc and the close button do nothing "
                    "(same as --kiosk)"),
    "log_max_mb": ((int, float), "the log file rotates at this size (default 10)"),
    "log_files": (int, "rotated log files kept (default 5)"),
    "recordings_max_mb": ((int, float), "all recordings together stay under this; the oldest go first "
                                        "(default 20000)"),
    "recordings_keep_days": ((int, float), "recordings older than this are removed (default 30; 0 keeps them)"),
    "min_free_mb": ((int, float), "a recording does not start with less free disk than this (default 1000)"),
}
PATCH_KEYS = ("name", "description")
NODE_RESERVED_KEYS = ("type", "inputs", "params")
RESERVED_NODE_NAMES = ("tensorstage", "scene", "health")  # OSC roots of the engine itself, and /health
PARAM_KEYS = ("default", "min", "max", "smoothing_s", "unit", "description")


class PatchError(Exception):
    """A patch that cannot run; `problems` holds one message per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class NodeDecl:
    name: str
    type: str
    options: dict[str, Any]
    inputs: dict[str, tuple[str, str]]       # input port -> (source node, output port)
    params: dict[str, ParamSpec]              # every parameter the node reads

    def same_instance(self, other: "NodeDecl") -> bool:
        """A live reload keeps a running node when this holds."""
        return self.type == other.type and self.options == other.options

    @property
    def node_class(self) -> type[Node]:
        return node_types()[self.type]


@dataclass
class Patch:
    path: Path | None
    name: str
    description: str
    nodes: dict[str, NodeDecl]                # in an order where sources come first
    scenes: dict[str, dict[str, Any]] = field(default_factory=dict)
    osc: dict[str, Any] = field(default_factory=dict)
    audio: dict[str, Any] = field(default_factory=dict)
    show: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)
    # Node state in scenes: scene -> [(node, command, args)] (engine/node.py: scene_commands)
    scene_commands: dict[str, list[tuple[str, str, tuple]]] = field(default_factory=dict)

    def exposed_params(self) -> dict[str, ParamSpec]:
        return {key: spec for key, spec in self.param_specs().items() if spec.exposed}

    def with_option(self, node: str, option: str, value: Any) -> "Patch":
        """This patch with one node's option changed (a model swapped over OSC),
        checked as the patch file would be. PatchError names what is wrong."""
        where = f"{self.path or self.name}"
        decl = self.nodes.get(node)
        if decl is None:
            raise PatchError([f'{where}: no node "{node}"{_suggest(node, list(self.nodes))}'])
        spec = decl.node_class.options.get(option)
        if spec is None:
            raise PatchError([f'{where}: node "{node}", key "{option}": a {decl.type} node has no option '
                              f'{option!r}; its options are: {", ".join(decl.node_class.options) or "none"}'])
        problem = _check_option(spec, value)
        options = {**decl.options, option: value}
        problems = [text for _, text in decl.node_class.check_options(options)] + ([problem] if problem else [])
        if problems:
            raise PatchError([f'{where}: node "{node}", key "{option}": {text}' for text in problems])
        nodes = {name: (replace(d, options=options) if name == node else d) for name, d in self.nodes.items()}
        return replace(self, nodes=nodes)

    def param_specs(self) -> dict[str, ParamSpec]:
        return {f"{node.name}/{param}": spec
                for node in self.nodes.values() for param, spec in node.params.items()}


def load_patch(path: str | Path) -> Patch:
    """Read and validate a patch file; raise PatchError listing every mistake."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PatchError([f"{where}: no such patch file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PatchError([f"{where}: cannot be read: {error}"]) from None
    return parse_patch(text, where, path)


def parse_patch(text: str, where: str = "<patch>", path: Path | None = None) -> Patch:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PatchError([f"{where}: not valid TOML: {error}"]) from None
    return _Validator(where, path).validate(data)


class _Validator:
    def __init__(self, where: str, path: Path | None) -> None:
        self.where, self.path = where, path
        self.problems: list[str] = []

    def node_problem(self, node: str, key: str, text: str) -> None:
        self.problems.append(f'{self.where}: node "{node}", key "{key}": {text}')

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f'{self.where}: key "{key}": {text}')

    def validate(self, data: dict[str, Any]) -> Patch:
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.problem(key, f"unknown top-level key{_suggest(key, TOP_LEVEL_KEYS)}; "
                                  f"a patch has: {', '.join(TOP_LEVEL_KEYS)}")
        header = data.get("patch", {})
        name, description = self.patch_header(header)
        nodes_data = data.get("nodes")
        if not isinstance(nodes_data, dict) or not nodes_data:
            self.problem("nodes", "a patch needs at least one node: add a [nodes.NAME] table")
            raise PatchError(self.problems)
        nodes: dict[str, NodeDecl] = {}
        for node_name, node_data in nodes_data.items():
            decl = self.node(node_name, node_data)
            if decl is not None:
                nodes[node_name] = decl
        if len(nodes) == len(nodes_data):
            self.connections(nodes)
        ordered = self.order(nodes) if not self.problems else nodes
        broken = set(nodes_data) - set(nodes)  # already reported; no follow-on errors
        scenes, scene_commands = self.scenes(data.get("scenes", {}), ordered, broken)
        self.targets(ordered, broken)
        osc = self.settings("osc", data.get("osc", {}), OSC_KEYS)
        audio = self.settings("audio", data.get("audio", {}), AUDIO_KEYS)
        show = self.settings("show", data.get("show", {}), SHOW_KEYS)
        for key, value in show.items():
            if key != "kiosk" and isinstance(value, (int, float)) and value < 0:
                self.problem(f"show.{key}", f"expected 0 or more, got {value}")
        schedule = self.schedule(data.get("schedule", {}), scenes)
        if self.problems:
            raise PatchError(self.problems)
        return Patch(self.path, name, description, ordered, scenes, osc, audio, show, schedule, scene_commands)

    def schedule(self, data: Any, scenes: dict[str, Any]) -> dict[str, Any]:
        """[schedule]: opening hours and timed scenes (engine/ops/schedule.py)."""
        from engine.ops.schedule import Schedule, ScheduleError
        if not isinstance(data, dict):
            self.problem("schedule", f"expected a table, got {describe(data)}")
            return {}
        try:
            Schedule(data)
        except ScheduleError as error:
            for key, text in error.problems:
                self.problem(f"schedule.{key}", text)
            return {}
        for i, entry in enumerate(data.get("scenes", [])):
            if entry["scene"] not in scenes:
                self.problem(f"schedule.scenes[{i}]", f"no scene {entry['scene']!r}"
                             f"{_suggest(entry['scene'], list(scenes))}; the patch has: {', '.join(scenes) or 'none'}")
        return data

    def settings(self, table: str, data: Any, known: dict[str, tuple]) -> dict[str, Any]:
        """An engine-wide table ([osc], [audio]): its keys and their kinds."""
        if not isinstance(data, dict):
            self.problem(table, f"expected a table, got {describe(data)}")
            return {}
        for key, value in data.items():
            if key not in known:
                self.problem(f"{table}.{key}", f"unknown key{_suggest(key, known)}; [{table}] has: {', '.join(known)}")
                continue
            kinds, _ = known[key]
            kinds = kinds if isinstance(kinds, tuple) else (kinds,)
            if not any(_is_kind(value, kind) for kind in kinds):
                expected = " or ".join(_KIND_NAMES[kind] for kind in kinds)
                self.problem(f"{table}.{key}", f"expected {expected}, got {describe(value)}")
            elif isinstance(value, list) and not all(isinstance(item, str) for item in value):
                self.problem(f"{table}.{key}", "expected a list of strings")
        return data

    def patch_header(self, header: Any) -> tuple[str, str]:
        default_name = self.path.stem if self.path else "patch"
        if not isinstance(header, dict):
            self.problem("patch", f"expected a table, got {describe(header)}")
            return default_name, ""
        for key in header:
            if key not in PATCH_KEYS:
                self.problem(f"patch.{key}", f"unknown key{_suggest(key, PATCH_KEYS)}; "
                                             f"[patch] has: {', '.join(PATCH_KEYS)}")
        values = []
        for key, default in (("name", default_name), ("description", "")):
            value = header.get(key, default)
            if not isinstance(value, str):
                self.problem(f"patch.{key}", f"expected a string, got {describe(value)}")
                value = default
            values.append(value)
        return values[0], values[1]

    # Nodes --------------------------------------------------------------------
    def node(self, name: str, data: Any) -> NodeDecl | None:
        if not NODE_NAME.match(name):
            self.node_problem(name, "name", "a node name is lower case letters, digits and _, "
                                            "starting with a letter (it becomes an OSC address)")
            return None
        if name in RESERVED_NODE_NAMES:
            self.node_problem(name, "name", f"{name!r} is reserved for the engine's own OSC addresses; "
                                            "choose another name")
            return None
        if not isinstance(data, dict):
            self.node_problem(name, "type", f"expected a [nodes.{name}] table, got {describe(data)}")
            return None
        types = node_types()
        type_name = data.get("type")
        if type_name is None:
            self.node_problem(name, "type", f"missing; every node needs a type, one of: {', '.join(sorted(types))}")
            return None
        if not isinstance(type_name, str):
            self.node_problem(name, "type", f"expected the name of a node type (a string), got "
                                            f"{describe(type_name)}; known types: {', '.join(sorted(types))}")
            return None
        if type_name not in types:
            self.node_problem(name, "type", f"unknown node type {type_name!r}{_suggest(str(type_name), types)}; "
                                            f"known types: {', '.join(sorted(types))}")
            return None
        cls = types[type_name]
        options = self.options(name, cls, data)
        inputs = self.inputs(name, cls, data.get("inputs", {}))
        params = self.params(name, cls, data.get("params", {}))
        return NodeDecl(name, type_name, options, inputs, params)

    def options(self, node: str, cls: type[Node], data: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        problems_before = len(self.problems)
        for key, value in data.items():
            if key in NODE_RESERVED_KEYS:
                continue
            option = cls.options.get(key)
            if option is None:
                hint = _suggest(key, list(cls.options) + list(cls.params))
                if key in cls.params:
                    hint = f"; {key!r} is a parameter: set it under [nodes.{node}.params]"
                known = ", ".join(cls.options) or "none"
                self.node_problem(node, key, f"unknown key for a {cls.type_name} node{hint}; "
                                             f"its options are: {known}")
                continue
            problem = _check_option(option, value)
            if problem:
                self.node_problem(node, key, problem)
            else:
                options[key] = float(value) if option.type is float else value
        for key, option in cls.options.items():
            options.setdefault(key, option.default)
        if len(self.problems) == problems_before:
            for key, problem in cls.check_options(options):
                self.node_problem(node, key, problem)
        return options

    def inputs(self, node: str, cls: type[Node], data: Any) -> dict[str, tuple[str, str]]:
        if not isinstance(data, dict):
            self.node_problem(node, "inputs", f"expected a table of port = \"node.port\", got {describe(data)}")
            return {}
        ports = {port.name: port for port in cls.inputs}
        inputs: dict[str, tuple[str, str]] = {}
        for port_name, source in data.items():
            key = f"inputs.{port_name}"
            if port_name not in ports:
                known = ", ".join(ports) or "none (it is a source)"
                self.node_problem(node, key, f"a {cls.type_name} node has no input {port_name!r}"
                                             f"{_suggest(port_name, ports)}; its inputs are: {known}")
                continue
            if not isinstance(source, str) or source.count(".") != 1:
                self.node_problem(node, key, f"expected \"node.port\", got {describe(source)}")
                continue
            source_node, source_port = source.split(".")
            inputs[port_name] = (source_node, source_port)
        for port in cls.inputs:
            if port.name not in data and not port.optional:
                self.node_problem(node, f"inputs.{port.name}",
                                  f"input {port.name!r} ({port.type}) is not connected; "
                                  f"connect it with inputs.{port.name} = \"node.port\"")
        return inputs

    def params(self, node: str, cls: type[Node], data: Any) -> dict[str, ParamSpec]:
        params = dict(cls.params)
        if not isinstance(data, dict):
            self.node_problem(node, "params", f"expected a table of parameters, got {describe(data)}")
            return params
        for param, value in data.items():
            key = f"params.{param}"
            spec = cls.params.get(param)
            if spec is None:
                known = ", ".join(cls.params) or "none"
                self.node_problem(node, key, f"a {cls.type_name} node has no parameter {param!r}"
                                             f"{_suggest(param, cls.params)}; its parameters are: {known}")
                continue
            overrides = value if isinstance(value, dict) else {"default": value}
            params[param] = self.param(node, key, spec, overrides)
        return params

    def param(self, node: str, key: str, spec: ParamSpec, overrides: dict[str, Any]) -> ParamSpec:
        changes: dict[str, Any] = {"exposed": True}
        for field_name, value in overrides.items():
            if field_name not in PARAM_KEYS:
                self.node_problem(node, f"{key}.{field_name}",
                                  f"unknown key{_suggest(field_name, PARAM_KEYS)}; "
                                  f"a parameter has: {', '.join(PARAM_KEYS)}")
                continue
            if field_name in ("min", "max", "smoothing_s"):
                if spec.type == CHOICE or isinstance(value, bool) or not isinstance(value, (int, float)):
                    self.node_problem(node, f"{key}.{field_name}", f"expected a number, got {describe(value)}")
                    continue
                value = float(value)
            elif field_name in ("unit", "description") and not isinstance(value, str):
                self.node_problem(node, f"{key}.{field_name}", f"expected a string, got {describe(value)}")
                continue
            changes[field_name] = value
        low, high = changes.get("min", spec.min), changes.get("max", spec.max)
        if ("min" in changes or "max" in changes) and low is not None and high is not None:
            if low > high:
                self.node_problem(node, f"{key}.min", f"min {low:g} is above max {high:g}")
            elif (spec.min is not None and low < spec.min) or (spec.max is not None and high > spec.max):
                self.node_problem(node, f"{key}.min",
                                  f"range [{low:g}, {high:g}] goes beyond what the node accepts "
                                  f"[{spec.min:g}, {spec.max:g}]")
        if changes.get("smoothing_s", 0.0) < 0:
            self.node_problem(node, f"{key}.smoothing_s", "must not be negative")
        new_spec = replace(spec, **{k: v for k, v in changes.items() if k != "default"})
        default = changes.get("default", spec.default)
        problem = _out_of_range(new_spec, default)
        if problem:
            self.node_problem(node, f"{key}.default", problem)
            return new_spec
        coerced, _ = new_spec.coerce(default)
        return replace(new_spec, default=coerced)

    # The graph ----------------------------------------------------------------
    def connections(self, nodes: dict[str, NodeDecl]) -> None:
        for decl in nodes.values():
            ports = {port.name: port for port in decl.node_class.inputs}
            for port_name, (source_node, source_port) in decl.inputs.items():
                key = f"inputs.{port_name}"
                source = nodes.get(source_node)
                if source is None:
                    self.node_problem(decl.name, key, f"\"{source_node}.{source_port}\" names no node"
                                                      f"{_suggest(source_node, nodes)}; nodes are: "
                                                      f"{', '.join(nodes)}")
                    continue
                outputs = {port.name: port for port in source.node_class.outputs}
                if source_port not in outputs:
                    known = ", ".join(outputs) or "none (it is a sink)"
                    self.node_problem(decl.name, key, f"node {source_node!r} (a {source.type}) has no output "
                                                      f"{source_port!r}{_suggest(source_port, outputs)}; "
                                                      f"its outputs are: {known}")
                    continue
                have, need = outputs[source_port].type, ports[port_name].type
                if not types_compatible(have, need):
                    self.node_problem(decl.name, key, f"port type mismatch: \"{source_node}.{source_port}\" "
                                                      f"carries {have}, input {port_name!r} takes {need}")
                elif have == need:
                    self.formats(decl, port_name, ports[port_name], source, outputs[source_port])

    def formats(self, decl: NodeDecl, port_name: str, port: Any, source: NodeDecl, source_port: Any) -> None:
        """Connected ends must agree on what the stream carries: an audio
        stream's rate, channels and block, a control stream's vector length."""
        key = f"inputs.{port_name}"
        given = source.node_class.port_format(source.options, source_port, False)
        taken = decl.node_class.port_format(decl.options, port, True)
        where = f"\"{source.name}.{source_port.name}\" ({source.type})"
        if isinstance(given, AudioFormat) and isinstance(taken, AudioFormat):
            differ = given.disagreements(taken)
            if differ:
                self.node_problem(decl.name, key, f"audio format mismatch: {where} gives {given}; node "
                                                  f"{decl.name!r} ({decl.type}) takes {taken} ({'; '.join(differ)})")
        elif port.type == CONTROL and port.any_length:
            return                                  # takes a float or a vector of any length
        elif port.type == CONTROL and (given is None) != (taken is None) or \
                isinstance(given, VectorFormat) and isinstance(taken, VectorFormat) and given.size != taken.size:
            self.node_problem(decl.name, key, f"control format mismatch: {where} gives "
                                              f"{describe_control(given)}; node {decl.name!r} ({decl.type}) "
                                              f"takes {describe_control(taken)}")

    def order(self, nodes: dict[str, NodeDecl]) -> dict[str, NodeDecl]:
        """Nodes with every upstream node before them; a cycle is a mistake."""
        ordered: dict[str, NodeDecl] = {}
        remaining = dict(nodes)
        while remaining:
            ready = [n for n, d in remaining.items()
                     if all(src in ordered for src, _ in d.inputs.values())]
            if not ready:
                cycle = _find_cycle(remaining)
                self.node_problem(cycle[0], "inputs", "connections form a cycle: " + " -> ".join(cycle))
                return nodes
            for name in ready:
                ordered[name] = remaining.pop(name)
        return ordered

    def targets(self, nodes: dict[str, NodeDecl], broken: set[str]) -> None:
        """An option that names another node's parameter (`refers_to="param"`,
        e.g. control_map's target) must name one that exists."""
        for decl in nodes.values():
            for key, option in decl.node_class.options.items():
                value = decl.options.get(key) if option.refers_to == "param" else None
                # One parameter, a list of them (the learn node's targets), or a
                # list of tables that name one each in `param` (a MIDI map).
                named = [(key, value)] if not isinstance(value, list) else \
                    [(f"{key}[{i}].param", v.get("param")) if isinstance(v, dict) else (f"{key}[{i}]", v)
                     for i, v in enumerate(value)]
                for where, target in named:
                    if not isinstance(target, str) or target.count(".") != 1:
                        continue                   # its own check_options reported it
                    node, param = target.split(".")
                    if node in broken:
                        continue
                    if node not in nodes:
                        self.node_problem(decl.name, where, f"no node {node!r}{_suggest(node, list(nodes))}")
                    elif param not in nodes[node].params:
                        self.node_problem(decl.name, where, f"node {node!r} has no parameter {param!r}"
                                          f"{_suggest(param, list(nodes[node].params))}; its parameters are: "
                                          f"{', '.join(nodes[node].params) or 'none'}")

    def scenes(self, data: Any, nodes: dict[str, NodeDecl], broken: set[str]) \
            -> tuple[dict[str, dict[str, Any]], dict[str, list[tuple[str, str, tuple]]]]:
        """Each scene's parameter values, and the commands that set its nodes' state."""
        if not isinstance(data, dict):
            self.problem("scenes", f"expected a table of [scenes.NAME], got {describe(data)}")
            return {}, {}
        scenes: dict[str, dict[str, Any]] = {}
        commands: dict[str, list[tuple[str, str, tuple]]] = {}
        for scene, values in data.items():
            scenes[scene] = {}
            commands[scene] = []
            if not isinstance(values, dict):
                self.problem(f"scenes.{scene}", f"expected a table of node.param = value, got {describe(values)}")
                continue
            for node, params in values.items():
                if node in broken:
                    continue
                if not isinstance(params, dict):
                    self.problem(f"scenes.{scene}.{node}", f"expected {node}.PARAM = value, got {describe(params)}")
                    continue
                decl = nodes.get(node)
                state = set(decl.node_class.scene_commands) | {decl.node_class.scene_clear} - {""} if decl else set()
                if state & set(params):
                    # the scene's state replaces the node's: emptied first
                    commands[scene].append((node, decl.node_class.scene_clear, ()))
                for param, value in params.items():
                    key = f"scenes.{scene}.{node}.{param}"
                    if param in state:
                        commands[scene].extend((node, param, args) for args in self.scene_command(
                            key, decl.node_class.osc_commands[param], value, param == decl.node_class.scene_clear))
                        continue
                    spec = decl.params.get(param) if decl else None
                    if spec is None or not spec.exposed:
                        exposed = [f"{d.name}.{p}" for d in nodes.values() for p, s in d.params.items() if s.exposed]
                        held = [f"{d.name}.{c}" for d in nodes.values() for c in d.node_class.scene_commands]
                        self.problem(key, f"a scene can only set exposed parameters; exposed are: "
                                          f"{', '.join(exposed) or 'none'}"
                                     + (f"; and node state: {', '.join(held)}" if held else ""))
                        continue
                    problem = _out_of_range(spec, value)
                    if problem:
                        self.problem(key, problem)
                        continue
                    scenes[scene][f"{node}/{param}"] = spec.coerce(value)[0]
        return scenes, {scene: entries for scene, entries in commands.items() if entries}

    def scene_command(self, key: str, command: Any, value: Any, clear: bool) -> list[tuple]:
        """A scene's `node.command = ...`: `true` (a command without arguments,
        as `clear`), a list of numbers (one command: a palette), or a list of
        such lists (several: colour hints). Checked as OSC's would be."""
        if clear:
            if value is not True:
                self.problem(key, f"expected true (empty the node's state first), got {describe(value)}")
            return []                      # the clear is already first
        calls = value if isinstance(value, list) and value and all(isinstance(v, list) for v in value) else [value]
        out = []
        for i, args in enumerate(calls):
            where = key if len(calls) == 1 else f"{key}[{i}]"
            if not isinstance(args, list):
                self.problem(where, f"expected a list of arguments ({command.type_tag()}), got {describe(args)}")
                continue
            try:
                out.append(command.check(args))
            except ValueError as error:
                self.problem(where, str(error))
        return out


def _check_option(option: Option, value: Any) -> str | None:
    kinds = option.type if isinstance(option.type, tuple) else (option.type,)
    if not any(_is_kind(value, kind) for kind in kinds):
        expected = " or ".join(_KIND_NAMES.get(kind, kind.__name__) for kind in kinds)
        return f"expected {expected}, got {describe(value)}"
    if option.choices and value not in option.choices:
        return f"{value!r} is not one of: {', '.join(map(str, option.choices))}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if option.min is not None and value < option.min:
            return f"{value!r} is below the minimum {option.min:g}"
        if option.max is not None and value > option.max:
            return f"{value!r} is above the maximum {option.max:g}"
    return None


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               list: "a list", dict: "a table"}


def _is_kind(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _out_of_range(spec: ParamSpec, value: Any) -> str | None:
    """Unlike a live write (clamped), a value written in the patch must fit."""
    try:
        coerced, clamped = spec.coerce(value)
    except ParamError as error:
        return str(error)
    if spec.type in ("float", "int") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expected a number, got {describe(value)}"
    if clamped:
        return f"{value!r} is outside the range [{spec.min:g}, {spec.max:g}]"
    return None


def _suggest(word: str, candidates: Any) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f'; did you mean "{close[0]}"?' if close else ""


def _find_cycle(nodes: dict[str, NodeDecl]) -> list[str]:
    """Walk upstream from any node until a node repeats: that loop is a cycle."""
    path: list[str] = []
    current = next(iter(nodes))
    while current not in path:
        path.append(current)
        current = next(src for src, _ in nodes[current].inputs.values() if src in nodes)
    loop = path[path.index(current):] + [current]
    loop.reverse()  # upstream walk: reverse it so arrows follow the data
    return loop


def resolve_patch(name: str) -> Path:
    """A patch file path, or a bundled patch by name."""
    path = Path(name)
    if path.exists() or path.suffix == ".toml" and path.parent != Path("."):
        return path
    bundled = bundled_patches()
    stem = path.stem if path.suffix == ".toml" else name
    if stem in bundled:
        return bundled[stem]
    return path


def bundled_patches() -> dict[str, Path]:
    import patches
    folder = Path(patches.__file__).parent
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}
