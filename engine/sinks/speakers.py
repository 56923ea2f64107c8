"""The speakers: a PortAudio output stream fed from a ring, behind speaker safety.

The callback (engine/audio/feed.py, in the audio process unless the patch says
`[audio] process = false`) only copies from the ring into PortAudio's buffer
(silence when the ring is empty), and counts; it never allocates, logs or
waits. Blocks reach the ring from this node's worker, after the safety chain
(engine/audio/safety.py).
Playing starts once the ring holds `prefill_blocks`, so it does not begin with
underflows; after an underflow the sound fades back in. With a microphone on the
same device it can share one duplex stream (`duplex`, engine/audio/stream.py). A
device that fails or vanishes is reopened with backoff while the rest of the
graph runs.
"""

from __future__ import annotations

import numpy as np

from engine.audio.device import AUDIO_OPTIONS_HELP
from engine.audio.feed import CALLBACKS, DEVICE_XRUNS, LATE, PLAYING, SideMemory
from engine.audio.host import StreamHandle, audio_host, audio_process_restarts, audio_process_status
from engine.audio.safety import SpeakerSafety
from engine.audio.stream import DUPLEX_HELP, OUTPUT, DeviceLost
from engine.clock import now_us
from engine.node import Node, Option, Port, StatusFigure, register
from engine.packet import AUDIO, AudioFormat, Packet
from engine.params import BOOL, FLOAT, ParamSpec


REPORT_FAILURES_EVERY_US = 60_000_000
BRACE_S = 0.08        # the longest interpreter-lock hold of a model load measured was 35 ms


@register
class SpeakersSink(Node):
    type_name = "speakers"
    presents = "audio"
    status_figures = (StatusFigure("xruns", "i", "audio output underflows since start (ring, PortAudio's flags "
                                   "and callbacks later than the device buffer)"),
                      # The kinds apart, so a technician can tell a late engine (ring) from
                      # a late sound server or host (late callbacks) or the device's own flags.
                      StatusFigure("xruns/ring", "i", "underflows of the ring: the engine fed the device late"),
                      StatusFigure("xruns/device", "i", "periods PortAudio flagged as underflowing"),
                      StatusFigure("xruns/late", "i", "device callbacks that came after its buffer ran dry "
                                   "(the sound server or the machine stalled)"))
    description = "Plays an audio stream on an output device, through speaker safety."
    inputs = (Port("audio", AUDIO),)
    options = {
        "device": Option((int, str), "", AUDIO_OPTIONS_HELP["device"]),
        "sample_rate": Option(int, 48000, "samples per second", min=8000, max=192000),
        "block": Option(int, 256, "frames per device period", min=16, max=8192),
        "channels": Option(int, 2, "output channels (a mono input is copied to each)", min=1, max=32),
        "buffer_blocks": Option(int, 4, "device buffer, in periods (2 glitched here even idle)", min=2, max=32),
        "prefill_blocks": Option(int, 2, "blocks waiting before playing starts", min=1, max=16),
        "duplex": Option((bool, str), "auto", DUPLEX_HELP.format(other="microphone"),
                         choices=(True, False, "auto")),
        "ceiling_db": Option(float, -1.0, "the limiter's ceiling", min=-40.0, max=0.0),
        "retry_s": Option(float, 2.0, "how often to try a lost device again", min=0.1, max=60.0),
    }
    params = {
        "gain": ParamSpec(FLOAT, 1.0, "master gain", min=0.0, max=2.0, smoothing_s=0.05),
        "mute": ParamSpec(BOOL, False, "silence (ramps out within a block)"),
    }

    def open(self) -> None:
        rate, block, channels = self.opts["sample_rate"], self.opts["block"], self.opts["channels"]
        self.host = audio_host(not self.context.audio_process)
        # The ring is kept half of (buffer + 8 blocks) deep; while the engine braces
        # for a model load beside the show, generators fill it BRACE_S deeper.
        self.keep_frames = block * (self.opts["buffer_blocks"] + 8) // 2
        self.brace_frames = self.keep_frames + int(BRACE_S * rate)
        self.memory = SideMemory(self.brace_frames + self.keep_frames, channels, shared=not self.host.in_process)
        self.ring = self.memory.ring
        self.safety = SpeakerSafety(rate, channels, self.opts["ceiling_db"],
                                    on_feedback=lambda hz: self.report(f"feedback at {hz:.0f} Hz: ducked by 24 dB"))
        self.dropped_blocks = 0      # the source ran ahead of the device
        self._underflows_seen = 0
        self._fade_in = False
        self.device_stream: StreamHandle | None = None
        self._next_join_us = 0
        self._failed_opens = 0
        self._next_failure_report_us = 0
        # Joined now, before sources start, so a microphone sharing this device
        # opens one duplex stream at once; a missing device is retried while running.
        self._try_join()

    def _try_join(self) -> None:
        try:
            rate, block = self.opts["sample_rate"], self.opts["block"]
            self.device_stream = self.host.join(OUTPUT, self.opts["device"], rate, block, self.opts["channels"],
                                                self.opts["buffer_blocks"] * block / rate, self.opts["duplex"],
                                                self.memory, self._opened, self.context.audio_realtime)
        except Exception as error:  # noqa: BLE001 - PortAudio errors of every kind: retry later
            self._next_join_us = now_us() + int(self.opts["retry_s"] * 1e6)
            self._cannot_open(error)

    def _cannot_open(self, error: Exception) -> None:
        """Said at the first failure, then once a minute with a count: a device
        missing all night must not fill an installation's log. PortAudio looks
        at the devices again for the next try."""
        self.host.reinitialize()
        self._failed_opens += 1
        if now_us() >= self._next_failure_report_us:
            since = f" ({self._failed_opens} tries since the last report)" if self._failed_opens > 1 else ""
            self.report(f"cannot open the output device ({error}); trying every {self.opts['retry_s']:g} s{since}")
            self._failed_opens = 0
            self._next_failure_report_us = now_us() + REPORT_FAILURES_EVERY_US

    def _opened(self, name: str, duplex: bool) -> None:
        # Maybe on the microphone's thread (it opened the duplex stream): only flags here.
        self._failed_opens, self._next_failure_report_us = 0, 0
        self._fade_in = True
        rate, block = self.opts["sample_rate"], self.opts["block"]
        self.report(f"playing on {name!r}: {rate} Hz, {block}-frame periods, buffer "
                    f"{self.opts['buffer_blocks'] * block / rate * 1000:.1f} ms"
                    + (", one duplex stream with the microphone" if duplex else ""))

    # Figures the callback keeps ------------------------------------------------
    @property
    def callbacks(self) -> int:
        return self.memory.count(CALLBACKS)

    @property
    def device_underflows(self) -> int:
        """Periods PortAudio flagged as underflowing."""
        return self.memory.count(DEVICE_XRUNS)

    @property
    def late_callbacks(self) -> int:
        """Callbacks that came after the device buffer ran dry: silence played
        that PortAudio did not flag."""
        return self.memory.count(LATE)

    @property
    def xruns(self) -> int:
        """Every glitch the speakers know of: ring underflows, PortAudio's
        flags and late callbacks."""
        return self.ring.underflows + self.device_underflows + self.late_callbacks

    @property
    def playing(self) -> bool:
        return bool(self.memory.count(PLAYING))

    # The worker side ------------------------------------------------------------
    def process(self, inputs: dict[str, Packet]) -> None:
        block = inputs["audio"].value
        channels = self.opts["channels"]
        if block.shape[1] != channels:
            block = np.repeat(block[:, :1], channels, axis=1) if block.shape[1] == 1 else block[:, :channels]
        if (self.ring.underflows != self._underflows_seen and self.playing) or self._fade_in:
            self._underflows_seen, self._fade_in = self.ring.underflows, False
            self.safety.restart_fade()
        safe = self.safety.process(block, self.param["gain"], self.param["mute"])
        if self.ring.fill > self.depth():           # the source runs faster than the device: skip a block
            self.dropped_blocks += 1
        else:
            self.ring.write(safe)
        self._keep_stream()

    def idle(self) -> None:
        self._keep_stream()

    def _keep_stream(self) -> None:
        if self.device_stream is None:
            if now_us() >= self._next_join_us:
                self._try_join()
            return
        prefilled = self.ring.fill >= self.opts["prefill_blocks"] * self.opts["block"]
        if not self.device_stream.is_open and not prefilled:
            return
        try:
            self.device_stream.keep(self.opts["retry_s"])
        except DeviceLost as lost:
            self.report(f"the output device stopped ({lost}); reopening")
            self.host.reinitialize()
        except Exception as error:  # noqa: BLE001 - PortAudio errors of every kind: retry later
            self._cannot_open(error)
        if prefilled and not self.playing and self.device_stream.is_open:
            self.memory.counters[PLAYING] = 1

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool) -> AudioFormat:
        # Mono is copied to each channel, and any block size goes into the ring.
        return AudioFormat(options["sample_rate"])

    @classmethod
    def declared_status(cls, audio: dict) -> tuple[StatusFigure, ...]:
        return cls.status_figures + audio_process_status(audio)

    def status(self) -> dict[str, float]:
        figures = {"audio/restarts": audio_process_restarts()}
        if hasattr(self, "ring"):
            figures.update({"xruns": self.xruns, "xruns/ring": self.ring.underflows,
                            "xruns/device": self.device_underflows, "xruns/late": self.late_callbacks})
        return figures

    def frames_wanted(self, lead_frames: int) -> int | None:
        """The device's demand: frames to add so the ring stays just under its
        depth (where `process` starts skipping blocks), as an engine-clocked
        source kept it: measured, a ring held at only 3 blocks lost blocks
        under load at 128 frames (`bench audio`). None until it plays."""
        stream = getattr(self, "device_stream", None)
        if stream is None or not stream.is_open or not self.playing:
            return None
        lead = max(lead_frames, self.depth() - self.opts["block"])
        return max(0, lead - self.ring.fill)

    def depth(self) -> int:
        """Frames the ring is kept at: deeper while the engine braces for a stall."""
        return self.brace_frames if self.context.bracing.is_set() else self.keep_frames

    def output_latency_ms(self) -> float:
        return self.latency_ms()

    def latency_ms(self) -> float:
        """Device latency plus what waits in the ring."""
        device_s = self.device_stream.latency_s if self.device_stream is not None \
            and self.device_stream.is_open else 0.0
        return 1000 * (device_s + self.ring.fill / self.opts["sample_rate"])

    def close(self) -> None:
        if self.device_stream is not None:
            self.host.leave(self.device_stream)
            self.device_stream = None
        self.memory.close(unlink=True)
