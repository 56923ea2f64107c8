"""A microphone (or any PortAudio input): blocks stamped with their capture time.

The callback copies into a ring and notes when the block was captured, on the
stream's clock; that clock is restated on the engine clock (DeviceClockMap), so
an audio block's timestamp is comparable with a camera frame's. With speakers
on the same device it can share one duplex stream (`duplex`,
engine/audio/stream.py). A device that fails or vanishes is closed and reopened
by the engine with backoff.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from engine.audio import device, stream
from engine.audio.device import AUDIO_OPTIONS_HELP
from engine.audio.ring import AudioRing
from engine.audio.stream import DUPLEX_HELP, INPUT, DeviceLost, Side
from engine.clock import DeviceClockMap, now_us
from engine.node import Node, Option, Port, register
from engine.packet import AUDIO, Packet


@register
class MicrophoneSource(Node):
    type_name = "microphone"
    description = "Audio from an input device, in blocks stamped at capture."
    outputs = (Port("audio", AUDIO, "float32 blocks, frames x channels"),)
    options = {
        "device": Option((int, str), "", AUDIO_OPTIONS_HELP["device"]),
        "sample_rate": Option(int, 48000, "samples per second", min=8000, max=192000),
        "block": Option(int, 256, "frames per block", min=16, max=8192),
        "channels": Option(int, 1, "input channels", min=1, max=32),
        "buffer_blocks": Option(int, 4, "device buffer, in periods", min=2, max=32),
        "duplex": Option((bool, str), "auto", DUPLEX_HELP.format(other="speakers"),
                         choices=(True, False, "auto")),
        "optional": Option(bool, False, "no input device is fine: say so once, then look for one quietly "
                                        "every `retry_s`"),
        "retry_s": Option(float, 5.0, "how often an optional microphone looks for a device", min=0.5, max=600),
    }

    def open(self) -> None:
        self.ring = AudioRing(self.opts["block"] * 64, self.opts["channels"])
        self.clock_map = DeviceClockMap()
        self._stamps: deque[int] = deque(maxlen=64)   # capture time of each block, engine clock
        self.overflows = 0
        self.device_stream: stream.DeviceStream | None = None
        self._next_look_us = 0
        try:
            self._join()
        except Exception as error:  # noqa: BLE001 - PortAudio fails in many ways
            if not self.opts["optional"]:
                device.reinitialize()  # so the next try sees a sound server that came back
                raise
            reason = "PortAudio finds none" if "querying device -1" in str(error) else str(error)
            self.report(f"no audio input device ({reason}); going on without sound, looking for one "
                        f"every {self.opts['retry_s']:g} s")

    def _join(self) -> None:
        rate, block = self.opts["sample_rate"], self.opts["block"]
        side = Side(self.opts["channels"], self.opts["buffer_blocks"] * block / rate, self._callback, self._opened)
        joined = stream.join(INPUT, self.opts["device"], rate, block, side, self.opts["duplex"])
        try:
            joined.keep(0.5, now=True)   # the engine paces a microphone's retries
        except Exception:
            stream.leave(joined, side)
            raise
        self.device_stream, self._side = joined, side

    def _opened(self, name: str, duplex: bool) -> None:
        self.clock_map = DeviceClockMap()   # a new stream may count time from elsewhere
        self._stamps.clear()
        rate, block = self.opts["sample_rate"], self.opts["block"]
        self.report(f"recording from {name!r}: {rate} Hz, {block}-frame blocks, {self.opts['channels']} "
                    f"channel(s)" + (", one duplex stream with the speakers" if duplex else ""))

    def _callback(self, indata: np.ndarray, frames: int, time, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        self.clock_map.observe(time.currentTime, now_us())
        self._stamps.append(self.clock_map.to_engine_us(time.inputBufferAdcTime))
        self.ring.write(indata)

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.device_stream is None:  # optional and absent: look again now and then, quietly
            if now_us() >= self._next_look_us:
                self._next_look_us = now_us() + int(self.opts["retry_s"] * 1e6)
                try:
                    self._join()
                except Exception:  # noqa: BLE001
                    pass
            self.wait(0.1)
            return None
        block = self.opts["block"]
        while self.ring.fill < block:
            if self.wait(block / self.opts["sample_rate"] / 4):
                return None
            if self.device_stream.silent_s() > 2.0:
                raise DeviceLost("the input device stopped delivering audio")
        ts = self._stamps.popleft() if self._stamps else now_us()
        return {"audio": Packet(self.ring.read(block), ts)}

    def close(self) -> None:
        if self.device_stream is not None:
            stream.leave(self.device_stream, self._side)
            self.device_stream = None
