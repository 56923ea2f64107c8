"""The speakers: a PortAudio output stream fed from a ring, behind speaker safety.

The callback only copies from the ring into PortAudio's buffer (silence when
the ring is empty), and counts; it never allocates, logs or waits. Blocks reach
the ring from this node's worker, after the safety chain (engine/audio/safety.py).
The stream starts once the ring holds `prefill_blocks`, so it does not begin
with underflows; after an underflow the sound fades back in. A device that
fails or vanishes is reopened with backoff while the rest of the graph runs.
"""

from __future__ import annotations

import numpy as np

from engine.audio import device
from engine.audio.device import AUDIO_OPTIONS_HELP, device_argument, sounddevice
from engine.audio.ring import AudioRing
from engine.audio.safety import SpeakerSafety
from engine.clock import now_us
from engine.node import Node, Option, Port, register
from engine.packet import AUDIO, Packet
from engine.params import BOOL, FLOAT, ParamSpec


@register
class SpeakersSink(Node):
    type_name = "speakers"
    description = "Plays an audio stream on an output device, through speaker safety."
    inputs = (Port("audio", AUDIO),)
    options = {
        "device": Option((int, str), "", AUDIO_OPTIONS_HELP["device"]),
        "sample_rate": Option(int, 48000, "samples per second", min=8000, max=192000),
        "block": Option(int, 256, "frames per device period", min=16, max=8192),
        "channels": Option(int, 2, "output channels (a mono input is copied to each)", min=1, max=32),
        "buffer_blocks": Option(int, 4, "device buffer, in periods (2 glitched here even idle)", min=2, max=32),
        "prefill_blocks": Option(int, 2, "blocks waiting before the stream starts", min=1, max=16),
        "ceiling_db": Option(float, -1.0, "the limiter's ceiling", min=-40.0, max=0.0),
        "retry_s": Option(float, 2.0, "how often to try a lost device again", min=0.1, max=60.0),
    }
    params = {
        "gain": ParamSpec(FLOAT, 1.0, "master gain", min=0.0, max=2.0, smoothing_s=0.05),
        "mute": ParamSpec(BOOL, False, "silence (ramps out within a block)"),
    }

    def open(self) -> None:
        self.sd = sounddevice()
        rate, block, channels = self.opts["sample_rate"], self.opts["block"], self.opts["channels"]
        self.ring = AudioRing(block * (self.opts["buffer_blocks"] + 8), channels)
        self.safety = SpeakerSafety(rate, channels, self.opts["ceiling_db"],
                                    on_feedback=lambda hz: self.report(f"feedback at {hz:.0f} Hz: ducked by 24 dB"))
        self.stream = None
        self.device_underflows = 0
        self.callbacks = 0
        self.callback_times_us = np.zeros(4096, dtype=np.int64)   # for jitter figures
        self._underflows_seen = 0
        self._next_try_us = 0
        self._last_callback_us = now_us()
        device.register(self)

    def healthy(self) -> bool:
        return self.stream is not None and now_us() - self._last_callback_us < 1_000_000

    # The real-time side ---------------------------------------------------------
    def _callback(self, outdata: np.ndarray, frames: int, time, status) -> None:
        now = now_us()
        self._last_callback_us = now
        self.callback_times_us[self.callbacks % 4096] = now
        self.callbacks += 1
        if status.output_underflow:
            self.device_underflows += 1
        self.ring.read_into(outdata)

    # The worker side ------------------------------------------------------------
    def process(self, inputs: dict[str, Packet]) -> None:
        block = inputs["audio"].value
        channels = self.opts["channels"]
        if block.shape[1] != channels:
            block = np.repeat(block[:, :1], channels, axis=1) if block.shape[1] == 1 else block[:, :channels]
        if self.ring.underflows != self._underflows_seen and self.stream is not None:
            self._underflows_seen = self.ring.underflows
            self.safety.restart_fade()
        safe = self.safety.process(block, self.param["gain"], self.param["mute"])
        self.ring.write(safe)
        if self.ring.fill > self.ring.capacity // 2:   # the source runs faster than the device
            self.ring.read(self.opts["block"])
        self._keep_stream()

    def idle(self) -> None:
        self._keep_stream()

    def _keep_stream(self) -> None:
        if self.stream is not None:
            silent_us = now_us() - self._last_callback_us
            if not device.stream_active(self.stream) or silent_us > 1_000_000:  # a dead server can leave it "active"
                self.report("the output device stopped; reopening")
                self._close_stream()
                device.reinitialize()
                self._next_try_us = now_us() + int(self.opts["retry_s"] * 1e6)
        if self.stream is None and self.ring.fill >= self.opts["prefill_blocks"] * self.opts["block"] \
                and now_us() >= self._next_try_us:
            self._open_stream()

    def _open_stream(self) -> None:
        rate, block = self.opts["sample_rate"], self.opts["block"]
        try:
            stream = self.sd.OutputStream(
                device=device_argument(self.opts["device"]), samplerate=rate, blocksize=block,
                channels=self.opts["channels"], dtype="float32", callback=self._callback,
                latency=self.opts["buffer_blocks"] * block / rate)
            stream.start()
        except Exception as error:  # noqa: BLE001 - PortAudio errors of every kind: retry later
            self._next_try_us = now_us() + int(self.opts["retry_s"] * 1e6)
            self.report(f"cannot open the output device ({error}); trying again in {self.opts['retry_s']:g} s")
            device.reinitialize()
            return
        self._last_callback_us = now_us()
        self.stream = stream
        self.safety.restart_fade()
        self.report(f"playing on {self.sd.query_devices(stream.device)['name']!r}: {rate} Hz, "
                    f"{block}-frame periods, latency {self.latency_ms():.1f} ms")

    def latency_ms(self) -> float:
        """Device latency plus what waits in the ring."""
        device = self.stream.latency if self.stream is not None else 0.0
        return 1000 * (device + self.ring.fill / self.opts["sample_rate"])

    def _close_stream(self) -> None:
        if self.stream is not None:
            device.close_stream(self.stream)
            self.stream = None

    def close(self) -> None:
        self._close_stream()
        device.unregister(self)
