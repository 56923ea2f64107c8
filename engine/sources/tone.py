"""Tones and noise for sound checks and tests: sine, square, saw, white noise.

Blocks are made a little ahead of real time (`lead_blocks`), paced by the engine
clock, so a speaker sink's buffer stays filled; the phase runs on across blocks
and frequency changes glide within a block, so nothing clicks.
"""

from __future__ import annotations

import numpy as np

from engine.clock import Pacer, now_us
from engine.node import Node, Option, Port, register
from engine.packet import AUDIO, Packet
from engine.params import CHOICE, FLOAT, ParamSpec

WAVEFORMS = ("sine", "square", "saw", "noise")


@register
class ToneSource(Node):
    type_name = "tone"
    description = "A test tone or noise, in blocks at the sample rate."
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
        period_us = self._block * 1e6 / self._rate
        self._pacer = Pacer(period_us, lead_us=self.opts["lead_blocks"] * period_us, behind_us=4 * period_us)
        self._phase = 0.0
        self._frequency: float | None = None
        self._last_ts = 0
        self._rng = np.random.default_rng()

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if not self._pacer.wait_turn(self.wait):
            return None
        ts = max(now_us(), self._last_ts + 1)  # made now; blocks never share a time
        self._last_ts = ts
        block = self._render()
        return {"audio": Packet(np.repeat(block[:, None], self.opts["channels"], axis=1), ts)}

    def _render(self) -> np.ndarray:
        frames, rate = self._block, self._rate
        target = self.param["frequency"]
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
