"""PortAudio streams: input, output, or both as one duplex stream per device.

A microphone and a speakers node that name the same device, sample rate and
block can share one full-duplex stream (`duplex` on both nodes). Some drivers
let only one stream open a device (ASIO), so there `duplex = "auto"`, the
default, shares; elsewhere auto opens two streams, which measured the same on
PipeWire and keep each direction's faults apart (docs/BENCHMARKS.md).
`duplex = true` shares wherever PortAudio can. A node that finds its direction
of a shared stream taken gets a stream of its own.

Each node attaches a side (channels, buffer, callback); this stream's callback
calls them, and only copies and counts. Opening, reopening after a fault and
reopening when the sides change (a microphone joining running speakers) happen
in `keep` and `join`, called from the nodes' workers, never from the callback.
A duplex open that fails where a one-way open works is remembered: the pair then
falls back to two streams, so a microphone that cannot go duplex never silences
the speakers.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable

from engine.audio import device
from engine.audio.device import device_argument, sounddevice
from engine.clock import now_us

INPUT, OUTPUT = "input", "output"
ONE_STREAM_HOST_APIS = ("ASIO",)   # drivers that give a device to one stream only
DUPLEX_HELP = ("share one full-duplex stream with a {other} node on the same device, rate and block: "
               "'auto' where the driver allows one stream per device (ASIO), true wherever possible, "
               "false never")


class DeviceLost(RuntimeError):
    pass


@dataclass
class Side:
    """One node's use of a stream: its direction's channels and buffer, its
    callback(buffer, frames, time, status), and `opened(name, duplex,
    latency_s)`, told on the opening thread before a new stream starts
    (latency_s: PortAudio's figure for this side's direction)."""
    channels: int
    latency_s: float
    callback: Callable[[Any, int, Any, Any], None]
    opened: Callable[[str, bool, float], None]


def resolve(device_option: int | str, direction: str) -> int:
    """The PortAudio index a device option means for a direction ('' is the
    default device); PortAudio's error if there is none."""
    return int(sounddevice().query_devices(device_argument(device_option), direction)["index"])


def wants_duplex(duplex: bool | str, index: int) -> bool:
    if duplex != "auto":
        return bool(duplex)
    sd = sounddevice()
    return sd.query_hostapis(sd.query_devices(index)["hostapi"])["name"] in ONE_STREAM_HOST_APIS


class DeviceStream:
    def __init__(self, key: tuple, device_option: int | str, rate: int, block: int) -> None:
        self.key, self.device_option, self.rate, self.block = key, device_option, rate, block
        self.sides: dict[str, Side | None] = {INPUT: None, OUTPUT: None}
        self.stream: Any = None
        self.layout: tuple[int, int] = (0, 0)     # (input, output) channels of the open stream
        self.latency_s: tuple[float, float] = (0.0, 0.0)
        self.last_callback_us = 0
        self.next_try_us = 0
        self.refused_duplex = ""                  # why a duplex open failed, when one-way worked
        self.left_behind = 0                      # streams PortAudio would not close (device.close_stream)
        self.lock = threading.RLock()

    # The real-time side -------------------------------------------------------
    def _duplex(self, indata: Any, outdata: Any, frames: int, time: Any, status: Any) -> None:
        self.last_callback_us = now_us()
        side = self.sides[INPUT]
        if side is not None:
            side.callback(indata, frames, time, status)
        side = self.sides[OUTPUT]
        if side is not None:
            side.callback(outdata, frames, time, status)
        else:
            outdata.fill(0)

    def _one_way(self, data: Any, frames: int, time: Any, status: Any) -> None:
        self.last_callback_us = now_us()
        side = self.sides[INPUT if self.layout[0] else OUTPUT]
        if side is not None:
            side.callback(data, frames, time, status)
        elif self.layout[1]:
            data.fill(0)

    # The workers' side --------------------------------------------------------
    def silent_s(self) -> float:
        return (now_us() - self.last_callback_us) / 1e6

    def healthy(self) -> bool:
        return self.stream is not None and self.silent_s() < 1.0

    @property
    def duplex(self) -> bool:
        return all(self.layout)

    def keep(self, retry_s: float, now: bool = False) -> None:
        """Close a stream that stopped (DeviceLost), open one that is wanted and
        due (`now`: whatever the retry time). Raises PortAudio's error when an
        open fails; the next try waits `retry_s`."""
        with self.lock:
            if self.stream is not None and (not device.stream_active(self.stream) or self.silent_s() > 1.0):
                silent_s = self.silent_s()
                closed = self._close()
                self.next_try_us = now_us() + int(retry_s * 1e6)
                raise DeviceLost(f"the device stopped delivering audio (silent {silent_s:.1f} s)" + (
                    "" if closed else "; PortAudio would not close the stream (its thread may be stuck "
                                      "in the driver, using a core): left behind"))
            if self.stream is None and any(self.sides.values()) and (now or now_us() >= self.next_try_us):
                try:
                    self._open()
                except Exception:
                    self.next_try_us = now_us() + int(retry_s * 1e6)
                    raise

    def _wanted_layout(self) -> tuple[int, int]:
        return tuple(side.channels if side else 0 for side in self.sides.values())  # type: ignore[return-value]

    def _open(self) -> None:
        sd = sounddevice()
        layout = self._wanted_layout()
        latency = tuple(side.latency_s if side else 0.0 for side in self.sides.values())
        # Resolved again at every open: a device that came back may have a new index.
        index = resolve(self.device_option, INPUT if layout[0] else OUTPUT)
        common = dict(device=index, samplerate=self.rate, blocksize=self.block, dtype="float32")
        if all(layout):
            stream = sd.Stream(channels=layout, callback=self._duplex, latency=latency, **common)
        elif layout[0]:
            stream = sd.InputStream(channels=layout[0], callback=self._one_way, latency=latency[0], **common)
        else:
            stream = sd.OutputStream(channels=layout[1], callback=self._one_way, latency=latency[1], **common)
        self.layout = layout
        try:
            reported = stream.latency
            self.latency_s = tuple(reported) if all(layout) else \
                ((reported, 0.0) if layout[0] else (0.0, reported))   # type: ignore[assignment]
            name = sd.query_devices(index)["name"]
            for direction, side in self.sides.items():
                if side is not None:
                    side.opened(name, all(layout), self.latency_s[0 if direction == INPUT else 1])
            self.last_callback_us = now_us()
            stream.start()
        except Exception:
            device.close_stream(stream)
            raise
        self.stream = stream

    def _close(self) -> bool:
        """False if PortAudio did not let go of the stream (it is left behind)."""
        closed = True
        if self.stream is not None:
            closed = device.close_stream(self.stream)
            self.left_behind += not closed
            self.stream = None
        return closed


_streams: dict[tuple, DeviceStream] = {}
_registry = threading.Lock()
_private = itertools.count()


def join(direction: str, device_option: int | str, rate: int, block: int, side: Side,
         duplex: bool | str = "auto") -> DeviceStream:
    """The stream this side runs on, with the side attached: the device's shared
    stream when the side wants duplex (`wants_duplex`) and that direction of it
    is free, else one of its own. A stream already open is reopened to carry the
    new side. Raises PortAudio's error if the device does not exist or the
    reopen fails."""
    index = resolve(device_option, direction)
    shared = wants_duplex(duplex, index)
    with _registry:
        key: tuple = (index, rate, block)
        stream = _streams.get(key)
        if not shared or (stream is not None and (stream.sides[direction] is not None or stream.refused_duplex)):
            key = ("private", next(_private))
            stream = None
        if stream is None:
            stream = _streams[key] = DeviceStream(key, device_option, rate, block)
            device.register(stream)
    with stream.lock:
        stream.sides[direction] = side
        if stream.stream is not None and stream.layout != stream._wanted_layout():
            stream._close()
            try:
                stream._open()
            except Exception as error:
                _fall_back_to_one_way(stream, direction, error)
                raise
    return stream


def _fall_back_to_one_way(stream: DeviceStream, direction: str, error: Exception) -> None:
    """A side could not join a running stream: give the stream back to the side
    that was there, and if that works, remember that this device refused duplex."""
    stream.sides[direction] = None
    try:
        stream._open()
    except Exception:  # noqa: BLE001 - the device itself is gone: the remaining side's keep retries
        return
    stream.refused_duplex = str(error)


def leave(stream: DeviceStream, side: Side) -> None:
    """Detach a side; a stream with no sides left is closed. The other side keeps
    running undisturbed (a duplex stream just stops feeding this side)."""
    with _registry, stream.lock:
        for direction, attached in stream.sides.items():
            if attached is side:
                stream.sides[direction] = None
        if not any(stream.sides.values()):
            stream._close()
            _streams.pop(stream.key, None)
            device.unregister(stream)
