"""What an OSC message does: one dispatcher for the server in a thread and the
server in its own process (engine/osc/process_server.py), so both check and
count exactly alike.

Every input is a value, never an instruction to the machine:
- numbers are checked for finiteness and range before any arithmetic (a
  scene's fade time of `inf` is refused, not raised);
- address patterns are matched in linear time with a length limit
  (engine/osc/patterns.py);
- strings have a length limit, and what is counted per address keeps the
  busiest MAX_ADDRESSES and puts the rest under OTHER, so a flood of unique
  addresses cannot grow memory;
- a handler that raises anything is counted and reported, never allowed to
  stop the server.
What is wrong is ignored, counted per address and reported at most once per
address every few seconds (the event log's rate limit):

- unknown address: ignored
- wrong argument count or type (a string for a float): ignored
- out of range: clamped, applied, and counted as clamped
- a sender not on the allow-list: ignored
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from contextlib import nullcontext
from typing import Any, Callable

from engine.events import OSC, EventLog
from engine.osc.patterns import compile_pattern, is_pattern
from engine.params import MAX_FADE_S, ParamError

IGNORED = ("unknown", "bad_args", "malformed", "refused", "overflow", "failed")   # outcomes counted as ignored
MAX_STRING = 1024          # characters in a string argument (a scene name, a model path)
MAX_ADDRESS = 512          # characters in an address
MAX_ADDRESSES = 256        # addresses counted one by one; the rest as OTHER
OTHER = "(other addresses)"


class AddressCounts(dict):
    """Counters by address, at most MAX_ADDRESSES of them, then OTHER."""

    def __missing__(self, address: str) -> Counter:
        if len(self) >= MAX_ADDRESSES and address != OTHER:
            return self[OTHER]
        counter = self[address] = Counter()
        return counter


class OscDispatcher:
    """Applies (address, arguments) to a parameter store and runs the engine's
    commands (/scene/recall, /scene/store, /tensorstage/swap)."""

    def __init__(self, store: Any, events: EventLog, on_scene: Callable[[str], None] | None = None,
                 on_swap: Callable[[str, str], None] | None = None, lock: threading.Lock | None = None,
                 commands: Callable[[], dict[str, tuple[str, str, Any]]] | None = None,
                 on_command: Callable[[str, str, tuple], None] | None = None) -> None:
        self.store, self.events = store, events
        self.on_scene = on_scene
        self.on_swap = on_swap      # (node, model path); raises ValueError for a request it refuses
        # The nodes' own addresses: {address: (node, name, OscCommand)}, and where checked ones go.
        self.commands = commands or (lambda: {})
        self.on_command = on_command
        self.counts: Counter[str] = Counter()                       # totals by outcome
        self.by_address: AddressCounts = AddressCounts()
        self._lock = lock if lock is not None else nullcontext()

    @property
    def ignored(self) -> int:
        return sum(self.counts[k] for k in IGNORED)

    def apply(self, address: str, args: list[Any]) -> None:
        with self._lock:
            self.counts["messages"] += 1
            try:
                self._apply(address, args)
            except Exception as error:  # noqa: BLE001 - one message must never stop the server
                self.ignore("failed", address, f"{type(error).__name__}: {error}; ignored")

    def _apply(self, address: str, args: list[Any]) -> None:
        if len(address) > MAX_ADDRESS or not address.startswith("/"):
            self.ignore("bad_args", address[:64], f"address of {len(address)} characters, or without a "
                                                  f"leading /; ignored")
            return
        long = [a for a in args if isinstance(a, (str, bytes)) and len(a) > MAX_STRING]
        if long:
            self.ignore("bad_args", address, f"an argument of {len(long[0])} characters; at most "
                                             f"{MAX_STRING}; ignored")
            return
        if address.startswith("/scene/"):
            self._scene_command(address, args)
            return
        if address == "/tensorstage/swap":
            self._swap_command(address, args)
            return
        command = self.commands().get(address)
        if command is not None:
            self._node_command(address, command, args)
            return
        try:
            targets = self._targets(address)
        except ValueError as error:
            self.ignore("malformed", address, f"bad address pattern ({error}); ignored")
            return
        if not targets:
            self.ignore("unknown", address, "unknown address; ignored (tensorstage osc list shows them)")
            return
        for key in targets:
            self._set(f"/{key}", key, args)

    def _targets(self, address: str) -> list[str]:
        if not is_pattern(address):
            spec = self.store.specs.get(address[1:])
            return [address[1:]] if spec is not None and spec.exposed else []
        pattern = compile_pattern(address[1:])
        return [key for key in self.store.exposed() if pattern.match(key)]

    def _set(self, address: str, key: str, args: list[Any]) -> None:
        if len(args) != 1:
            self.ignore("bad_args", address, f"expected 1 argument, got {len(args)}; ignored")
            return
        try:
            result = self.store.set(key, args[0])
        except ParamError as error:
            self.ignore("bad_args", address, f"{error}; ignored")
            return
        self.applied(address)
        if result.clamped:
            self.by_address[address]["clamped"] += 1
            self.counts["clamped"] += 1
            self.events.add(OSC, address, f"{args[0]!r} is out of range; clamped to {result.value!r}")

    def _scene_command(self, address: str, args: list[Any]) -> None:
        usage = "expected /scene/recall NAME [FADE_S] or /scene/store NAME; ignored"
        if address not in ("/scene/recall", "/scene/store") or not args or not isinstance(args[0], str) \
                or len(args) > (2 if address == "/scene/recall" else 1):
            self.ignore("bad_args", address, usage)
            return
        fade_s = None
        if len(args) == 2:
            fade = args[1]
            if isinstance(fade, bool) or not isinstance(fade, (int, float)) or not math.isfinite(fade) \
                    or not 0 <= fade <= MAX_FADE_S:
                self.ignore("bad_args", address, f"fade time {fade!r}: expected 0 to {MAX_FADE_S:g} seconds; "
                                                 "ignored")
                return
            fade_s = float(fade)
        try:
            if address == "/scene/recall":
                self.store.recall(args[0], fade_s)
                if self.on_scene:
                    self.on_scene(args[0])
            else:
                self.store.store_scene(args[0])
        except ParamError as error:
            self.ignore("bad_args", address, f"{error}; ignored")
            return
        self.applied(address)

    def _swap_command(self, address: str, args: list[Any]) -> None:
        """/tensorstage/swap NODE PATH: load another model into a model node."""
        if self.on_swap is None or len(args) != 2 or not all(isinstance(a, str) for a in args):
            self.ignore("bad_args", address, "expected /tensorstage/swap NODE MODEL_PATH; ignored")
            return
        try:
            self.on_swap(args[0], args[1])
        except ValueError as error:      # refused (engine/swap.py), or a patch error
            self.ignore("bad_args", address, f"{error}; ignored")
            return
        self.applied(address)

    def _node_command(self, address: str, command: tuple[str, str, Any], args: list[Any]) -> None:
        node, name, spec = command
        try:
            checked = spec.check(args)
        except ValueError as error:
            self.ignore("bad_args", address, f"{error}; ignored")
            return
        if self.on_command is not None:
            self.on_command(node, name, checked)
        self.applied(address)

    def applied(self, address: str) -> None:
        self.by_address[address]["applied"] += 1
        self.counts["applied"] += 1

    def ignore(self, outcome: str, address: str, message: str) -> None:
        self.counts[outcome] += 1
        self.by_address[address][outcome] += 1
        self.events.add(OSC, address or "osc", message)
