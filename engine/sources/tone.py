"""Tones and noise for sound checks and tests: sine, square, saw, white noise.

A generator: blocks are made when the speakers downstream want one (the sound
device's clock), `lead_blocks` ahead, or by the engine clock at the nominal
rate when no device plays; each block is stamped by its sample count. A
control stream on `frequency_hz` plays the pitch (read, never waited for). The
phase runs on across blocks and frequency changes glide within a block, so
nothing clicks.
"""

from __future__ import annotations

import numpy as np

from engine.clock import SampleClock
from engine.node import Node, Option, Port, register
from engine.packet import AUDIO, CONTROL, Packet
from engine.params import CHOICE, FLOAT, ParamSpec

WAVEFORMS = ("sine", "square", "saw", "noise")


@register
class ToneSource(Node):
    type_name = "tone"
    description = "A test tone or noise, in blocks at the sample rate; a control stream may play its pitch."
    generator = True
    inputs = (Port("frequency_hz", CONTROL, "pitch in Hz; replaces the frequency parameter (0, unpitched, "
                   "holds the last pitch)", trigger=False, optional=True),)
    outputs = (Port("audio", AUDIO, "float32 blocks, frames x channels"),)
    options = {
        "sample_rate": Option(int, 48000, "samples per second", min=8000, max=192000),
        "block": Option(int, 256, "frames per block", min=16, max=8192),
        "channels": Option(int, 1, "channels (the same signal on each)", min=1, max=8),
        "lead_blocks": Option(int, 2, "how many blocks to stay ahead of real time", min=0, max=32),
    }
    params = {
        "frequency": ParamSpec(FLOAT, 440.0, "pitch", min=20.0, max=20000.0, unit="Hz", smoothing_s=0.05),
        "level_db": ParamSpec(FLOAT, -12.0, "level", min=-90.0, max=0.0, unit="dBFS", smoothing_s=0.05),
        "waveform": ParamSpec(CHOICE, "sine", "waveform", choices=WAVEFORMS),
    }

    def open(self) -> None:
        self._rate, self._block = self.opts["sample_rate"], self.opts["block"]
        self.clock = SampleClock(self._rate, self._block, self.opts["lead_blocks"])
        self._phase = 0.0
        self._frequency: float | None = None
        self._held: float | None = None
        self._rng = np.random.default_rng()

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        wanted = self.clocked_by.frames_wanted if self.clocked_by is not None else None
        if not self.clock.wait_turn(self.wait, wanted):
            return None
        ts = self.clock.stamp()
        played = inputs.get("frequency_hz")
        if played is not None and np.isfinite(played.value) and played.value > 0:
            self._held = float(np.clip(played.value, 20.0, 20000.0))
        # No pitch yet, 0 (unpitched input) or NaN: the last pitch played, else the parameter.
        target = self.param["frequency"] if self._held is None else self._held
        block = self._render(target)
        return {"audio": Packet(np.repeat(block[:, None], self.opts["channels"], axis=1), ts)}

    def _render(self, target: float) -> np.ndarray:
        frames, rate = self._block, self._rate
        start = target if self._frequency is None else self._frequency
        self._frequency = target
        level = 10 ** (self.param["level_db"] / 20)
        waveform = self.param["waveform"]
        if waveform == "noise":
            return (level * self._rng.uniform(-1, 1, frames)).astype(np.float32)
        frequencies = np.linspace(start, target, frames, endpoint=False)
        phases = self._phase + np.cumsum(frequencies) / rate      # in cycles
        self._phase = float(phases[-1] % 1.0)
        cycle = phases % 1.0
        if waveform == "sine":
            wave = np.sin(2 * np.pi * cycle)
        elif waveform == "square":
            wave = np.where(cycle < 0.5, 1.0, -1.0)
        else:
            wave = 2.0 * cycle - 1.0
        return (level * wave).astype(np.float32)
