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
runs in a worker behind latest-wins mailboxes (see graph.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from engine.packet import PORT_TYPES, Packet
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


@dataclass
class EngineContext:
    """What the engine tells every node about the run it is part of."""
    patch_name: str = "patch"
    headless: bool = False
    output_dir: Path = Path("tensorstage-output")
    report: Callable[[str, str], None] = lambda node, message: None
    request_stop: Callable[[str], None] = lambda reason: None
    snapshot: Callable[[], dict[str, dict[str, Any]]] = lambda: {}
    audio_running: bool = False  # model thread pools leave a core to the audio when True
    audio_process: bool = True   # the sound devices in their own process ([audio] process)
    audio_realtime: bool = True  # their stream threads at real-time priority ([audio] realtime)
    # Write another node's parameter ("node/param", value): how a control stream
    # inside the patch drives a parameter (control_map). Raises KeyError if unknown.
    set_param: Callable[[str, Any], Any] = lambda key, value: None


class Node:
    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    options: ClassVar[dict[str, Option]] = {}
    params: ClassVar[dict[str, ParamSpec]] = {}

    def __init__(self, name: str, options: dict[str, Any], params: ParamView,
                 context: EngineContext | None = None) -> None:
        self.name = name
        self.opts = options
        self.param = params
        self.context = context or EngineContext()
        # Set when the engine stops this node; sources wait on it instead of sleeping.
        self.stopping = threading.Event()

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

    @classmethod
    def is_source(cls) -> bool:
        return not cls.inputs


_REGISTRY: dict[str, type[Node]] = {}

# Modules whose nodes a patch can name. Importing them must stay cheap: heavy
# libraries (TensorFlow, LiteRT, PortAudio) are imported inside `open`.
_NODE_MODULES = (
    "engine.sources.test_pattern",
    "engine.sources.camera",
    "engine.sources.video_file",
    "engine.sources.tone",
    "engine.sources.audio_file",
    "engine.sources.microphone",
    "engine.processors.color_adjust",
    "engine.processors.mirror",
    "engine.processors.fit",
    "engine.processors.grayscale",
    "engine.processors.mix",
    "engine.processors.trail",
    "engine.processors.video_analysis",
    "engine.processors.stall",
    "engine.processors.audio_analysis",
    "engine.processors.image_model",
    "engine.processors.style",
    "engine.processors.control_map",
    "engine.processors.sequence_model",
    "engine.sinks.recorder",
    "engine.sinks.window",
    "engine.sinks.speakers",
)
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
        import importlib
        for module in _NODE_MODULES:
            importlib.import_module(module)
        _loaded = True
    return _REGISTRY
