"""A microphone (or any PortAudio input): blocks stamped with their capture time.

The callback (engine/audio/feed.py, in the audio process unless the patch says
`[audio] process = false`) copies into a ring and notes when the block was
captured, on the stream's clock; that clock is restated on the engine clock
(DeviceClockMap), so an audio block's timestamp is comparable with a camera
frame's. With speakers
on the same device it can share one duplex stream (`duplex`,
engine/audio/stream.py). A device that fails or vanishes is closed and reopened
by the engine with backoff.
"""

from __future__ import annotations

from engine.audio.device import AUDIO_OPTIONS_HELP
from engine.audio.feed import DEVICE_XRUNS, SideMemory
from engine.audio.host import StreamHandle, audio_host, audio_process_restarts, audio_process_status
from engine.audio.stream import DUPLEX_HELP, INPUT, DeviceLost
from engine.clock import now_us
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

    @classmethod
    def declared_status(cls, audio: dict) -> tuple:
        return audio_process_status(audio)

    def status(self) -> dict[str, float]:
        return {"audio/restarts": audio_process_restarts()}

    def open(self) -> None:
        self.host = audio_host(not self.context.audio_process)
        self.memory = SideMemory(self.opts["block"] * 64, self.opts["channels"], shared=not self.host.in_process)
        self.ring = self.memory.ring
        self.device_stream: StreamHandle | None = None
        self._next_look_us = 0
        try:
            self._join()
        except Exception as error:  # noqa: BLE001 - PortAudio fails in many ways
            if not self.opts["optional"]:
                self.host.reinitialize()  # so the next try sees a sound server that came back
                self.memory.close(unlink=True)
                raise
            reason = "PortAudio finds none" if "querying device -1" in str(error) else str(error)
            self.report(f"no audio input device ({reason}); going on without sound, looking for one "
                        f"every {self.opts['retry_s']:g} s")

    def _join(self) -> None:
        rate, block = self.opts["sample_rate"], self.opts["block"]
        joined = self.host.join(INPUT, self.opts["device"], rate, block, self.opts["channels"],
                                self.opts["buffer_blocks"] * block / rate, self.opts["duplex"], self.memory,
                                self._opened, self.context.audio_realtime)
        try:
            joined.keep(0.5, now=True)   # the engine paces a microphone's retries
        except Exception:
            self.host.leave(joined)
            raise
        self.device_stream = joined

    @property
    def overflows(self) -> int:
        """Periods PortAudio flagged as overflowing (input lost before it reached us)."""
        return self.memory.count(DEVICE_XRUNS)

    def _opened(self, name: str, duplex: bool) -> None:
        rate, block = self.opts["sample_rate"], self.opts["block"]
        self.report(f"recording from {name!r}: {rate} Hz, {block}-frame blocks, {self.opts['channels']} "
                    f"channel(s)" + (", one duplex stream with the speakers" if duplex else ""))

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
            if self.device_stream.silent_s() > 1.0:
                self.device_stream.keep(0.5)   # DeviceLost if it stopped; reopened when due if it was closed
            if self.device_stream.silent_s() > 2.0:
                raise DeviceLost("the input device stopped delivering audio")
        captured = self.memory.capture_us(self.ring.read_frames, self.opts["sample_rate"])
        return {"audio": Packet(self.ring.read(block), now_us() if captured is None else captured)}

    def close(self) -> None:
        if self.device_stream is not None:
            self.host.leave(self.device_stream)
            self.device_stream = None
        self.memory.close(unlink=True)
