"""OSC out: control streams as they happen, and a status heartbeat.

By default each value goes out at once as its own message, one number per
address (what TouchDesigner's OSC In CHOP and Max's [udpreceive] expect). In
bundle mode the newest value of every stream that changed is gathered and sent
as one bundle `rate_hz` times a second. Send errors (a peer not listening) are
counted, never raised into the node that produced the value.
"""

from __future__ import annotations

import socket
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from engine.packet import Packet


def encode(address: str, *args: Any) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def encode_bundle(messages: list[tuple[str, tuple[Any, ...]]]) -> bytes:
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, args in messages:
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        bundle.add_content(builder.build())
    return bundle.build().dgram


def parse_target(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """'HOST:PORT' or 'PORT' -> (host, port); ValueError with a readable message."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{text!r} is not [HOST:]PORT") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} in {text!r} is out of range")
    return (host or default_host), number


class OscSender:
    def __init__(self, targets: list[tuple[str, int]], bundle: bool = False, rate_hz: float = 60.0) -> None:
        self.targets = targets
        self.bundle = bundle
        self.sent = 0
        self.send_errors = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self._pending: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._period = 1.0 / rate_hz
        self._flusher = threading.Thread(target=self._flush_loop, name="osc-out", daemon=True)

    def start(self) -> None:
        self._running.set()
        if self.bundle:
            self._flusher.start()

    def stop(self) -> None:
        self._running.clear()
        if self._flusher.is_alive():
            self._flusher.join(2)
        self.flush()
        self.sock.close()

    def send(self, address: str, *args: Any) -> None:
        if self.bundle:
            with self._lock:
                self._pending[address] = args
        else:
            self._send_bytes(encode(address, *args))

    def send_now(self, messages: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Several messages at once: one bundle in bundle mode, else one by one."""
        if self.bundle:
            self._send_bytes(encode_bundle(messages))
        else:
            for address, args in messages:
                self._send_bytes(encode(address, *args))

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            self._send_bytes(encode_bundle(list(pending.items())))

    def _flush_loop(self) -> None:
        while self._running.is_set():
            time.sleep(self._period)
            self.flush()

    def _send_bytes(self, data: bytes) -> None:
        for target in self.targets:
            try:
                self.sock.sendto(data, target)
                self.sent += 1
            except OSError:
                self.send_errors += 1


class StreamTap:
    """Stands in a control output's fan-out and forwards each value to OSC."""

    def __init__(self, address: str, sender: OscSender) -> None:
        self.address, self.sender = address, sender

    def put(self, packet: Packet) -> None:
        value = packet.value
        if isinstance(value, (int, float)):
            self.sender.send(self.address, float(value))
        else:                        # a vector: one message with N floats
            self.sender.send(self.address, *(float(v) for v in np.asarray(value, np.float32).ravel()))


class Heartbeat:
    """Sends the engine's status every `period_s`: alive, patch, scene, figures."""

    def __init__(self, senders: list[OscSender], status: Callable[[], list[tuple[str, tuple[Any, ...]]]],
                 period_s: float = 1.0, on_error: Callable[[str], None] | None = None) -> None:
        self.senders, self.status, self.period_s = senders, status, period_s
        self.on_error = on_error    # told once per run of failures, with the traceback
        self.failures = 0
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="osc-heartbeat", daemon=True)
        self.beats = 0

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        failed_before = False
        while self._running.is_set():
            try:
                messages = self.status()
                for sender in self.senders:
                    sender.send_now(messages)
                self.beats += 1
                failed_before = False
            except Exception:  # noqa: BLE001 - a figure that fails must not end the heartbeat
                self.failures += 1
                if not failed_before and self.on_error is not None:
                    self.on_error("the heartbeat failed, going on:\n" + traceback.format_exc())
                failed_before = True
            deadline = time.monotonic() + self.period_s
            while self._running.is_set() and time.monotonic() < deadline:
                time.sleep(min(0.05, self.period_s))
