"""Textures the engine invents one sample at a time: rain, wind, a drone, a
fire (the shipped model's), or any mix of them, from the sample-level RNN
(models/sample_rnn/, run by engine/runtime/sample_rnn.py at 16 kHz).

A worker thread generates ahead of the speakers (`ahead_s`) in chunks of
50 ms, resamples them to the patch's rate (libsamplerate, streaming) and queues them;
`process` only takes a block from the queue, so the audio path never waits
for the network. Changes of texture or temperature are heard with the next
chunk generated, about `ahead_s` later. With `listen = true` the node hears
its audio input (a microphone) and `/sample_rnn/prime` runs the network over
the last `prime_s` heard, so it goes on from that sound; otherwise it is a
generator clocked by the speakers.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

import numpy as np

from engine.clock import SampleClock
from engine.node import Node, OscCommand, Option, Port, StatusFigure, register
from engine.packet import AUDIO, AudioFormat, Packet
from engine.params import FLOAT, ParamSpec

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "sample_rnn" / "sample_rnn.npz"
MAX_TEXTURES = 4
CHUNK = 800                     # 50 ms at 16 kHz per call of the generator


class Streamer:
    """The worker: keeps `ahead` frames of generated, resampled audio queued."""

    def __init__(self, weights, rate: int, ahead_frames: int) -> None:
        import samplerate

        from engine.runtime import sample_rnn as rnn
        self.rnn = rnn
        self.generator = rnn.Generator(weights)
        self.rate = rate
        self.resampler = samplerate.Resampler("sinc_medium", channels=1) if rate != rnn.RATE else None
        self.ahead = ahead_frames
        self.queue: deque[np.ndarray] = deque()
        self.queued = 0                 # frames in the queue
        self.offset = 0                 # frames of the queue's first chunk already taken
        self.mix = np.eye(len(weights.names))[0]
        self.temperature = 1.0
        self.primer: np.ndarray | None = None
        self.restart = False            # asked from the node's thread, done by the worker
        self.error: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sample-rnn", daemon=True)

    def start(self) -> None:
        """Compile the kernel (cached on disk) and queue `ahead` frames before the show, then work ahead."""
        self.generator.generate(CHUNK, self.mix)
        self.generator.reset(self.mix)
        self.texture = int(np.argmax(self.mix))
        while self.queued < self.ahead:
            self._make()
        self.thread.start()

    def take(self, frames: int) -> tuple[np.ndarray, int]:
        """The next `frames` frames and how many were missing (silence in their place)."""
        out = np.zeros(frames, np.float32)
        got = 0
        with self._lock:
            while got < frames and self.queue:
                chunk = self.queue[0]
                n = min(frames - got, len(chunk) - self.offset)
                out[got:got + n] = chunk[self.offset:self.offset + n]
                got += n
                self.offset += n
                if self.offset == len(chunk):
                    self.queue.popleft()
                    self.offset = 0
            self.queued -= got
        self._wake.set()
        return out, frames - got

    def prime(self, heard: np.ndarray, rate: int) -> None:
        """Hear `heard` (mono at `rate`) before the next chunk; what is queued still plays."""
        import samplerate
        self.primer = samplerate.resample(heard.astype(np.float32), self.rnn.RATE / rate, "sinc_medium") \
            if rate != self.rnn.RATE else heard.astype(np.float32)
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.queued >= self.ahead and self.primer is None and not self.restart:
                self._wake.wait(0.02)
                self._wake.clear()
                continue
            try:
                strongest = int(np.argmax(self.mix))
                if self.restart or strongest != self.texture:
                    # Another texture leads now (a scene, a slider past the middle): start inside it.
                    self.restart, self.texture = False, strongest
                    self.generator.reset(self.mix)
                if self.primer is not None:
                    primer, self.primer = self.primer, None
                    self.generator.prime(np.clip(primer, -1, 1), self.mix)
                self._make()
            except Exception as error:          # noqa: BLE001 - told to the node, which reports it
                self.error = str(error)
                self.generator.reset(self.mix)

    def _make(self) -> None:
        made = self.generator.generate(CHUNK, self.mix, self.temperature)
        if self.resampler is not None:
            # clipped again: a full-scale sample rings past 1 through the interpolation filter
            made = np.clip(self.resampler.process(made, self.rate / self.rnn.RATE), -1.0, 1.0).astype(np.float32)
        with self._lock:
            self.queue.append(made)
            self.queued += len(made)


@register
class SampleRnnNode(Node):
    type_name = "sample_rnn"
    description = "Generates a sound texture sample by sample (a GRU at 16 kHz, LPCNet-like), ahead of the speakers."
    inputs = (Port("audio", AUDIO, "listen = true: the sound to prime from (/sample_rnn/prime)", optional=True),)
    outputs = (Port("audio", AUDIO, "the texture, mono copied to each channel"),)
    options = {
        "path": Option(str, "", "a sample RNN .npz (default: the shipped rain/wind/drone/fire model)"),
        "sample_rate": Option(int, 48000, "samples per second (the model's 16 kHz is resampled to it)",
                              min=16000, max=192000),
        "block": Option(int, 256, "frames per block", min=32, max=4096),
        "channels": Option(int, 1, "output channels (the same sound on each)", min=1, max=8),
        "listen": Option(bool, False, "hear the audio input (connect inputs.audio) and prime from it; the "
                         "node then runs at the input's pace"),
        "ahead_s": Option(float, 0.3, "audio generated ahead of the speakers (changes are heard this late)",
                          min=0.1, max=5.0),
        "prime_s": Option(float, 1.0, "seconds heard that /sample_rnn/prime runs the network over",
                          min=0.1, max=10.0),
        "lead_blocks": Option(int, 2, "blocks kept ahead of the device", min=0, max=32),
    }
    params = {
        **{f"texture{i + 1}": ParamSpec(FLOAT, 1.0 if i == 0 else 0.0,
                                        f"weight of the model's texture {i + 1} (its card, sample_rnn.json, names "
                                        "it: rain, wind, drone, fire); mixes morph", min=0.0, max=1.0)
           for i in range(MAX_TEXTURES)},
        "temperature": ParamSpec(FLOAT, 1.0, "below 1 calmer and more regular, above 1 wilder", min=0.5, max=1.5),
        "level_db": ParamSpec(FLOAT, 0.0, "output level", min=-60.0, max=12.0, unit="dB", smoothing_s=0.05),
        "dry_wet": ParamSpec(FLOAT, 1.0, "listen = true: 0 the input alone, 1 the texture alone", min=0.0,
                             max=1.0, smoothing_s=0.1),
    }
    osc_commands = {"prime": OscCommand((), "go on from the last prime_s seconds heard (listen = true)"),
                    "reset": OscCommand((), "start afresh from silence")}
    swappable = frozenset({"path"})
    swap_suffixes = (".npz",)
    status_figures = (StatusFigure("sample_rnn/dry_frames", "i", "frames the sample RNN could not deliver in "
                                   "time (played as silence)"),)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.generator = not self.opts["listen"]

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool):
        channels = 1 if is_input else options.get("channels")
        return AudioFormat(options.get("sample_rate"), None if is_input else channels, options.get("block"))

    def model_path(self) -> Path:
        return Path(self.opts["path"]).expanduser() if self.opts["path"] else SHIPPED

    def open(self) -> None:
        from engine.runtime.sample_rnn import Weights

        self.close()                    # opened again (a retry): the old worker goes first
        self.weights = Weights.load(self.model_path())
        rate, block = self.opts["sample_rate"], self.opts["block"]
        self.streamer = Streamer(self.weights, rate, int(self.opts["ahead_s"] * rate))
        self._set_controls()
        self.streamer.start()
        self.clock = SampleClock(rate, block, self.opts["lead_blocks"])
        self.heard: deque[np.ndarray] = deque(maxlen=max(1, int(self.opts["prime_s"] * rate / block)))
        self.dry_frames = 0
        self.report(f"{self.model_path().name} ({self.weights.units} units): " + ", ".join(
            f"texture{i + 1}={n}" for i, n in enumerate(self.weights.names[:MAX_TEXTURES])))

    def close(self) -> None:
        if hasattr(self, "streamer"):
            self.streamer.close()

    def take_over(self, previous: Node) -> None:
        # A swapped model of the same size goes on from the old one's state, after what the old one queued.
        if not isinstance(previous, SampleRnnNode) or not hasattr(previous, "streamer"):
            return
        old, new = previous.streamer.generator, self.streamer.generator
        if old.weights.units == new.weights.units:
            new.h[:], new.history[:], new.last[:] = old.h, old.history, old.last
        with previous.streamer._lock:
            queued = list(previous.streamer.queue)
            offset = previous.streamer.offset
        if queued and previous.streamer.rate == self.streamer.rate:
            queued[0] = queued[0][offset:]
            with self.streamer._lock:
                self.streamer.queue.extendleft(reversed(queued))
                self.streamer.queued += sum(len(c) for c in queued)
        self.heard = previous.heard

    def status(self) -> dict[str, float]:
        return {"sample_rnn/dry_frames": self.dry_frames}

    def _set_controls(self) -> None:
        count = min(len(self.weights.names), MAX_TEXTURES)
        mix = np.zeros(len(self.weights.names))
        mix[:count] = [self.param[f"texture{i + 1}"] for i in range(count)]
        self.streamer.mix = mix if mix.sum() > 0 else np.eye(len(mix))[0]
        self.streamer.temperature = float(self.param["temperature"])

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.generator:
            wanted = self.clocked_by.frames_wanted if self.clocked_by is not None else None
            if not self.clock.wait_turn(self.wait, wanted):
                return None
            ts, dry = self.clock.stamp(), None
        else:
            packet = inputs["audio"]
            ts = packet.ts_us
            dry = packet.value.mean(axis=1) if packet.value.ndim == 2 else packet.value
            self.heard.append(dry.astype(np.float32))
        for name, _ in self.take_commands():
            if name == "reset":
                self.streamer.restart = True
            elif name == "prime" and self.heard:
                self.streamer.prime(np.concatenate(self.heard), self.opts["sample_rate"])
        if self.streamer.error:
            self.report(f"generator error, restarted: {self.streamer.error}")
            self.streamer.error = None
        self._set_controls()
        out, missing = self.streamer.take(self.opts["block"])
        self.dry_frames += missing
        out *= 10 ** (self.param["level_db"] / 20)
        if dry is not None:
            mix = self.param["dry_wet"]
            out = out * mix + dry.astype(np.float32) * (1 - mix)
        audio = np.repeat(out[:, None], self.opts["channels"], axis=1).astype(np.float32)
        return {"audio": Packet(audio, ts)}
