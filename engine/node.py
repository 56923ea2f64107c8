"""The node contract shared by sources, processors and sinks, and the registry.

A node class declares its typed ports, its options (fixed when the patch loads)
and its parameters (live, smoothed), then implements `open`, `process`, `close`:

- `open()` acquires devices, files and models. It may be slow; it never runs on
  the thread that owns the window, unless the node itself needs that thread.
- `process(inputs)` gets the newest packet on each connected input port and
  returns a dict of output packets (or None). A processor answers with
  `packet.derive(value)` so the timestamp of its answer is that of its input.
  A source has no inputs: its `process` waits for its next value (a camera frame,
  a paced tick) and stamps it with `now_us()` when it was captured.
- `close()` releases everything `open` took. It is called even after errors.

A node with no inputs is a source and gets a thread of its own; every other node
runs in a worker behind latest-wins mailboxes (see graph.py). A `generator`
(a synth) has inputs and is still run like a source, by its own sample clock
(or the speakers' demand for blocks): it reads the newest value on each input
without being triggered by them.

What is particular to a node type is declared on its class, so no core module
names a node type: `swappable` options (changed over OSC, to files of
`swap_suffixes` only), `presents` ("video" or "audio": a sink the picture or the
sound reaches the audience through, for the A/V offset) with the latency it adds
(`output_latency_ms`), and `status_figures` it adds to the heartbeat.

Node types are discovered: every module in engine/sources, engine/processors
and engine/sinks, and the modules other packages name in the entry point group
`tensorstage.nodes` (pyproject.toml), are imported and register their classes.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from engine.clock import now_us
from engine.packet import AUDIO, CONTROL, PORT_TYPES, AudioFormat, Packet, VectorFormat
from engine.params import ParamSpec, ParamView


@dataclass(frozen=True)
class Port:
    name: str
    type: str
    description: str = ""
    # Inputs only: a trigger input runs the node when a packet arrives; the other
    # inputs are sampled (their newest packet is handed over with the trigger).
    trigger: bool = True
    optional: bool = False
    # A control port carrying a float vector: its element names (a fixed length).
    elements: tuple[str, ...] = ()
    # A control input that takes one float or a vector of any length (the learn node's inputs).
    any_length: bool = False

    def __post_init__(self) -> None:
        if self.type not in PORT_TYPES:
            raise ValueError(f"port type must be one of {PORT_TYPES}, not {self.type!r}")


@dataclass(frozen=True)
class Option:
    """A setting fixed when the patch loads (a device, a size, a file path)."""
    type: type
    default: Any
    description: str
    choices: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    # "param": the value names another node's parameter ("node.param"), checked
    # against the patch when it loads (a control stream driving it).
    refers_to: str = ""


@dataclass(frozen=True)
class CommandArg:
    name: str
    kind: str = "f"                 # "f": a finite number; "s": a string (1024 characters at most)
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("f", "s"):
            raise ValueError(f"argument {self.name!r}: kind must be 'f' or 's', not {self.kind!r}")


@dataclass(frozen=True)
class OscCommand:
    """An address a node type answers besides its parameters, `/<node>/<name>`
    (a colour hint, a prime, a stop). The dispatcher checks the arguments
    (count, kind, finiteness, range) before the node sees them."""
    args: tuple[CommandArg, ...]
    description: str
    optional: int = 0               # how many trailing arguments may be left out
    repeat: int = 1                 # the whole list may come up to this many times (a palette of colours)

    def type_tag(self) -> str:
        tags = "".join(a.kind for a in self.args)
        required = tags[: len(tags) - self.optional]
        optional = f"[{tags[len(required):]}]" if self.optional else ""
        return required + optional + ("..." if self.repeat > 1 else "")

    def check(self, values: list[Any]) -> tuple[Any, ...]:
        """The arguments as the node gets them, or ValueError saying what is wrong."""
        import math
        n = len(self.args)
        if n == 0:
            fits = not values
        elif self.repeat == 1:
            fits = n - self.optional <= len(values) <= n
        else:
            fits = len(values) % n == 0 and 1 <= len(values) // n <= self.repeat
        if not fits:
            raise ValueError(f"expected {self.type_tag()} ({', '.join(a.name for a in self.args)}), "
                             f"got {len(values)} argument(s)")
        out = []
        for i, value in enumerate(values):
            arg = self.args[i % n]
            if arg.kind == "s":
                if not isinstance(value, str) or len(value) > 1024:
                    raise ValueError(f"{arg.name}: expected a string of at most 1024 characters")
                out.append(value)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{arg.name}: expected a finite number, got {value!r}")
            if arg.min is not None and value < arg.min or arg.max is not None and value > arg.max:
                raise ValueError(f"{arg.name}: {value!r} is outside {arg.min:g}..{arg.max:g}")
            out.append(float(value))
        return tuple(out)


@dataclass(frozen=True)
class StatusFigure:
    """A figure a node type adds to the status stream, `/tensorstage/<address>`;
    the values of every node that declares it are summed (or the largest taken)."""
    address: str
    type_tag: str                   # "i" or "f"
    description: str
    combine: str = "sum"            # "sum" or "max"


@dataclass
class EngineContext:
    """What the engine tells every node about the run it is part of."""
    patch_name: str = "patch"
    headless: bool = False
    kiosk: bool = False          # an installation's window (--kiosk or [show] kiosk)
    show: dict[str, Any] = field(default_factory=dict)   # the patch's [show]: disk limits for recordings
    output_dir: Path = Path("tensorstage-output")
    report: Callable[[str, str], None] = lambda node, message: None
    request_stop: Callable[[str], None] = lambda reason: None
    snapshot: Callable[[], dict[str, dict[str, Any]]] = lambda: {}
    audio_running: bool = False  # model thread pools leave a core to the audio when True
    audio_process: bool = True   # the sound devices in their own process ([audio] process)
    audio_realtime: bool = True  # their stream threads at real-time priority ([audio] realtime)
    # Set while the engine opens nodes beside the running show (a reload or a swap):
    # a model's load holds Python's interpreter lock for 10-35 ms at a time, so
    # generators fill the speakers' ring deeper for its duration (docs/BENCHMARKS.md, soak).
    bracing: threading.Event = field(default_factory=threading.Event)
    # Write another node's parameter ("node/param", value): how a control stream
    # inside the patch drives a parameter (control_map). Raises KeyError if unknown.
    set_param: Callable[[str, Any], Any] = lambda key, value: None
    # The running patch's ParamStore, for a node that reads other nodes' parameters,
    # their ranges and the scene last recalled (learn); None outside an engine.
    params: Any = None
    patch_path: Path | None = None        # the patch file (files a node keeps beside it)
    # A key pressed in the output window that the window itself does not use:
    # True if a node type's `window_keys` took it.
    key_pressed: Callable[[str], bool] = lambda key: False


class Node:
    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    options: ClassVar[dict[str, Option]] = {}
    params: ClassVar[dict[str, ParamSpec]] = {}
    swappable: ClassVar[frozenset[str]] = frozenset()     # options /tensorstage/swap may change
    swap_suffixes: ClassVar[tuple[str, ...]] = ()        # ... to files (or folders) named so
    presents: ClassVar[str | None] = None                 # "video" or "audio": the audience sees or hears it here
    status_figures: ClassVar[tuple[StatusFigure, ...]] = ()
    generator: ClassVar[bool] = False     # clocked by its own sample clock, its inputs sampled
    osc_commands: ClassVar[dict[str, OscCommand]] = {}    # /<node>/<name> besides its parameters
    window_keys: ClassVar[dict[str, str]] = {}            # a key in the output window -> a command (as OSC's arrive)
    # State that scenes hold besides parameters (colour hints, a palette), as the
    # osc_commands that build it: a patch's scene may name them, /scene/store
    # records `scene_state()`, and a recall replays them after `scene_clear`.
    scene_commands: ClassVar[tuple[str, ...]] = ()
    scene_clear: ClassVar[str] = ""                       # the command that empties that state

    def __init__(self, name: str, options: dict[str, Any], params: ParamView,
                 context: EngineContext | None = None) -> None:
        self.name = name
        self.opts = options
        self.param = params
        self.context = context or EngineContext()
        # A generator's audio sink downstream (the engine sets it at each wiring):
        # its `frames_wanted(lead)` paces the generator by the device's clock.
        self.clocked_by: Any = None
        # OSC commands (osc_commands) arrive from the OSC thread; `process` takes them.
        self._commands: deque[tuple[str, tuple, int | None]] = deque(maxlen=256)
        # Set when the engine stops this node; sources wait on it instead of sleeping.
        self.stopping = threading.Event()
        # Input port -> the "node.port" the patch connects to it (set by the engine).
        self.wiring: dict[str, str] = {}

    # The contract -------------------------------------------------------------
    def open(self) -> None:
        pass

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def take_over(self, previous: "Node") -> None:
        """On a live reload, this node replaces `previous` (same name, new
        options), which is closed right after: carry over what makes the change
        seamless (a model node crossfades from the old model)."""

    def wants_main_thread(self) -> bool:
        """True for a node that owns a GUI window: the main thread runs it."""
        return False

    def idle(self) -> None:
        """Called on the node's thread when nothing has arrived for a while
        (10-100 ms): keeps a window responsive and lets it show 'no signal'."""

    def post_command(self, name: str, args: tuple, at_us: int | None = None) -> None:
        """An OSC command for this node (checked already); any thread. From
        `at_us` (engine time) if given: a scene recall that lands on the next beat."""
        self._commands.append((name, args, at_us))

    def take_commands(self) -> list[tuple[str, tuple]]:
        """The commands due since the last call, oldest first (the node's thread)."""
        out, later, now = [], [], now_us()
        while self._commands:
            name, args, at_us = self._commands.popleft()
            if at_us is not None and at_us > now:
                later.append((name, args, at_us))
            else:
                out.append((name, args))
        self._commands.extend(later)
        return out

    def scene_state(self) -> list[tuple[str, tuple]]:
        """The `scene_commands` that rebuild this node's state as it is now
        (what /scene/store records); any thread."""
        return []

    def output_latency_ms(self) -> float:
        """A presenting sink: how long after `process` the audience meets the value
        (the speakers' device buffer and ring; 0 for a window)."""
        return 0.0

    def status(self) -> dict[str, float]:
        """Current values of the declared `status_figures`, by address."""
        return {}

    @classmethod
    def port_format(cls, options: dict[str, Any], port: Port, is_input: bool) -> AudioFormat | VectorFormat | None:
        """What a port (an input, or an output) carries with these options: an audio port's rate, channels
        and block (from the node's `sample_rate`, `channels` and `block` options by
        default; an input that adapts overrides this with None there), a control
        port's vector (its `elements`), or None (a single float, a frame)."""
        if port.type == AUDIO:
            return AudioFormat(options.get("sample_rate"), options.get("channels"), options.get("block"))
        if port.type == CONTROL and port.elements:
            return VectorFormat(tuple(port.elements))
        return None

    @classmethod
    def declared_status(cls, audio: dict[str, Any]) -> tuple[StatusFigure, ...]:
        """The status figures of this node type in a patch with these [audio] settings."""
        return cls.status_figures

    # Helpers -------------------------------------------------------------------
    def report(self, message: str) -> None:
        """Tell the performer something changed (a fallback, a reconnect)."""
        self.context.report(self.name, message)

    def wait(self, seconds: float) -> bool:
        """Sleep unless the engine is stopping; True if it is."""
        return self.stopping.wait(seconds)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        """Extra checks across options: a list of (key, problem)."""
        return []

    def is_source(self) -> bool:
        """Runs in a thread of its own that calls `process` in a loop: no inputs, or a generator
        (a node may set `self.generator` from its options: the timbre node played from controls)."""
        return not self.inputs or self.generator

    def frames_wanted(self, lead_frames: int) -> int | None:
        """An audio sink the device clocks (the speakers): how many frames it
        wants now to hold `lead_frames` ahead of the device, or None when no
        device is playing (a generator then keeps time by the engine clock)."""
        return None


_REGISTRY: dict[str, type[Node]] = {}
# Packages whose every module may hold node types. Importing them must stay
# cheap: heavy libraries (TensorFlow, LiteRT, PortAudio) are imported in `open`.
NODE_PACKAGES = ("engine.sources", "engine.processors", "engine.sinks")
ENTRY_POINT_GROUP = "tensorstage.nodes"
_loaded = False


def register(cls: type[Node]) -> type[Node]:
    """Class decorator: make a node type available to patches by its type_name."""
    if not cls.type_name:
        raise ValueError(f"{cls.__name__} has no type_name")
    existing = _REGISTRY.get(cls.type_name)
    if existing is not None and existing is not cls:
        raise ValueError(f"node type {cls.type_name!r} is already registered by {existing.__name__}")
    _REGISTRY[cls.type_name] = cls
    return cls


def node_types() -> dict[str, type[Node]]:
    global _loaded
    if not _loaded:
        _loaded = True
        discover()
    return _REGISTRY


def discover() -> list[str]:
    """Import every node module (the engine's packages, then other packages'
    entry points); returns a line for each plug-in that failed to load."""
    import importlib
    import pkgutil
    from importlib.metadata import entry_points

    for package_name in NODE_PACKAGES:
        package = importlib.import_module(package_name)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            importlib.import_module(f"{package_name}.{info.name}")
    problems = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            entry.load()
        except Exception as error:  # noqa: BLE001 - a broken plug-in must not take the engine down
            problems.append(f"node types from {entry.value} ({entry.name}) not loaded: "
                            f"{type(error).__name__}: {error}")
    discover.problems = problems
    return problems
