"""An audio file (wav, flac, ogg) played as a live source, looping.

The file is read whole at open (cues and loops are short) and, if its rate
differs from the patch's, resampled once by linear interpolation (fine for
cues; resample offline for critical listening). Blocks leave paced by the
engine clock, a little ahead of real time, like the tone source. A missing or
unreadable file is an error the engine retries with backoff.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.clock import Pacer, now_us
from engine.node import Node, Option, Port, register
from engine.packet import AUDIO, Packet
from engine.params import FLOAT, ParamSpec


@register
class AudioFileSource(Node):
    type_name = "audio_file"
    description = "Plays a wav, flac or ogg file in real time, looping."
    outputs = (Port("audio", AUDIO, "float32 blocks, frames x channels"),)
    options = {
        "path": Option(str, "", "the audio file"),
        "loop": Option(bool, True, "start again at the end"),
        "sample_rate": Option(int, 48000, "rate of the blocks (the file is resampled to it)", min=8000, max=192000),
        "block": Option(int, 256, "frames per block", min=16, max=8192),
        "lead_blocks": Option(int, 2, "how many blocks to stay ahead of real time", min=0, max=32),
    }
    params = {"level_db": ParamSpec(FLOAT, 0.0, "playback level", min=-90.0, max=12.0, unit="dB",
                                    smoothing_s=0.05)}

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        return [] if options["path"] else [("path", "an audio_file node needs a path")]

    def open(self) -> None:
        import soundfile

        path = Path(self.opts["path"]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no audio file {path}")
        try:
            data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except RuntimeError as error:
            raise OSError(f"{path} is not audio soundfile can read ({error})") from None
        target = self.opts["sample_rate"]
        if rate != target and len(data):
            positions = np.arange(int(len(data) * target / rate)) * rate / target
            data = np.stack([np.interp(positions, np.arange(len(data)), data[:, c]) for c in range(data.shape[1])],
                            axis=1).astype(np.float32)
        self._data = data
        self._position = 0
        period_us = self.opts["block"] * 1e6 / target
        self._pacer = Pacer(period_us, lead_us=self.opts["lead_blocks"] * period_us, behind_us=4 * period_us)
        self._last_ts = 0
        self._gain = 1.0
        self.report(f"playing {path}: {len(data) / target:.1f} s, {data.shape[1]} channel(s), "
                    f"{rate} Hz" + (f" resampled to {target} Hz" if rate != target else "")
                    + (", looping" if self.opts["loop"] else ""))

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        block = self.opts["block"]
        if self._position >= len(self._data):
            if not self.opts["loop"] or not len(self._data):
                self.wait(0.1)
                return None
            self._position = 0
        if not self._pacer.wait_turn(self.wait):
            return None
        chunk = self._data[self._position:self._position + block]
        self._position += block
        if len(chunk) < block:
            tail = self._data[:block - len(chunk)] if self.opts["loop"] else np.zeros(
                (block - len(chunk), self._data.shape[1]), np.float32)
            chunk = np.concatenate([chunk, tail])
            self._position = len(tail) if self.opts["loop"] else len(self._data)
        target = 10 ** (self.param["level_db"] / 20)
        chunk = chunk * np.linspace(self._gain, target, block, dtype=np.float32)[:, None]
        self._gain = target
        ts = max(now_us(), self._last_ts + 1)
        self._last_ts = ts
        return {"audio": Packet(chunk, ts)}
