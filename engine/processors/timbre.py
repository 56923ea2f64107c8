"""Timbre transfer: sing or play into the microphone, hear a violin (a flute, a
cello, or any mix of the model's instruments).

Every 5 ms the live tracker (engine/audio/tracker.py) gives f0, voicing and
loudness; the timbre model (a GRU, models/timbre/, run as a LiteRT sequence
step) turns them and the instrument weights into the controls of the
harmonic-plus-noise synthesizer (engine/audio/synth.py), which plays them at
the patch's rate. Unvoiced input (breath, consonants, noise) plays nothing.

`play = "controls"` makes it a generator clocked by the speakers, played
without a microphone from the `f0_hz` and `loudness_db` control streams or the
`f0` and `loudness` parameters (`/timbre/f0 440`, `/timbre/loudness -20` from
TouchDesigner or Max).

Algorithmic latency (`latency_ms`): the tracker's window centre and one hop to
confirm a note change (19.3 ms at 48 kHz, fmin 70 Hz) plus half a block of
control glide (2.7 ms at 256 frames): 22 ms.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.audio.reverb import Reverb
from engine.audio.synth import Controls, HarmonicNoiseSynth
from engine.audio.tracker import PitchTracker
from engine.clock import SampleClock
from engine.node import Node, Option, Port, StatusFigure, register
from engine.packet import AUDIO, CONTROL, AudioFormat, Packet
from engine.params import FLOAT, ParamSpec
from engine.runtime.backend import ModelError

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "timbre" / "timbre.tflite"
MAX_INSTRUMENTS = 4
HARMONICS, BANDS = 60, 65
MODEL_TOP_HZ = 8000.0        # the model learned harmonics and noise up to here (16 kHz renderings)
MODEL_HOP_S = 0.005
SILENT_DB = -80.0
RELEASE_STEPS = 30           # 150 ms of the model's own release after a note, then silence


def instrument_names(path: Path) -> list[str]:
    card = Path(path).with_name("timbre.json")
    try:
        return list(json.loads(card.read_text())["instruments"])
    except (OSError, ValueError, KeyError):
        return []


@register
class TimbreNode(Node):
    type_name = "timbre"
    description = "Plays the input's melody on a learned instrument (f0 and loudness -> GRU -> harmonic synth)."
    inputs = (Port("audio", AUDIO, "the voice or instrument to follow (play = audio)", optional=True),
              Port("f0_hz", CONTROL, "pitch to play (play = controls); replaces the f0 parameter",
                   trigger=False, optional=True),
              Port("loudness_db", CONTROL, "level to play (play = controls); replaces the loudness parameter",
                   trigger=False, optional=True))
    outputs = (Port("audio", AUDIO, "the instrument, mono copied to each channel"),
               Port("f0_hz", CONTROL, "the pitch played (0 when silent)"),
               Port("loudness_db", CONTROL, "the input's loudness (dBFS)"),
               Port("voiced", CONTROL, "1 while a note sounds, else 0"))
    options = {
        "path": Option(str, "", "a timbre model .tflite (default: the shipped violin/flute/cello model)"),
        "play": Option(str, "audio", "audio: follow the audio input (connect inputs.audio); controls: play the f0/loudness "
                       "streams or parameters, clocked by the speakers", choices=("audio", "controls")),
        "sample_rate": Option(int, 48000, "samples per second", min=16000, max=192000),
        "block": Option(int, 256, "frames per block", min=32, max=4096),
        "channels": Option(int, 1, "output channels (the same sound on each)", min=1, max=8),
        "fmin": Option(float, 70.0, "lowest input pitch tracked, Hz (lower adds latency)", min=40.0, max=400.0),
        "lead_blocks": Option(int, 2, "play = controls: blocks kept ahead of the device", min=0, max=32),
        "threads": Option(int, 1, "inference threads", min=1, max=8),
    }
    params = {
        **{f"instrument{i + 1}": ParamSpec(FLOAT, 1.0 if i == 0 else 0.0,
                                           f"weight of the model's instrument {i + 1} (its card, timbre.json, "
                                           "names it); mixes morph", min=0.0, max=1.0, smoothing_s=0.3)
           for i in range(MAX_INSTRUMENTS)},
        "pitch_shift": ParamSpec(FLOAT, 0.0, "transpose", min=-24.0, max=24.0, unit="semitones", smoothing_s=0.05),
        "octave": ParamSpec(FLOAT, 0.0, "transpose by octaves (-1 a voice plays a cello)", min=-3.0, max=3.0),
        "loudness_shift_db": ParamSpec(FLOAT, 0.0, "added to the input's loudness before the model (a quiet "
                                       "microphone: raise it)", min=-40.0, max=40.0, unit="dB", smoothing_s=0.1),
        "dry_wet": ParamSpec(FLOAT, 1.0, "0 the input alone, 1 the instrument alone", min=0.0, max=1.0,
                             smoothing_s=0.1),
        "noise": ParamSpec(FLOAT, 1.0, "scale of the breath/bow noise", min=0.0, max=4.0, smoothing_s=0.1),
        "reverb": ParamSpec(FLOAT, 0.0, "room: 0 dry, 1 as loud as the instrument", min=0.0, max=1.0,
                            smoothing_s=0.2),
        "reverb_s": ParamSpec(FLOAT, 2.0, "the room's decay time (60 dB)", min=0.2, max=8.0, unit="s"),
        "level_db": ParamSpec(FLOAT, 0.0, "output level", min=-60.0, max=12.0, unit="dB", smoothing_s=0.05),
        "f0": ParamSpec(FLOAT, 440.0, "play = controls: the pitch", min=20.0, max=4000.0, unit="Hz"),
        "loudness": ParamSpec(FLOAT, SILENT_DB, "play = controls: the level (-80 silent)", min=-80.0, max=0.0,
                              unit="dB"),
    }
    swappable = frozenset({"path"})
    swap_suffixes = (".tflite",)
    status_figures = (StatusFigure("timbre/algorithmic_latency_ms", "f", "the timbre node's algorithmic latency: tracker window and glide, ms", "max"),)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Played from controls it makes its own blocks, clocked by the speakers.
        self.generator = self.opts["play"] == "controls"

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool):
        if port.type == AUDIO:
            channels = 1 if is_input else options.get("channels")     # any input channels are mixed to mono
            return AudioFormat(options.get("sample_rate"), None if is_input else channels, options.get("block"))
        return None

    def model_path(self) -> Path:
        return Path(self.opts["path"]).expanduser() if self.opts["path"] else SHIPPED

    def open(self) -> None:
        from engine.runtime.sequence import SequenceModel

        self.model = SequenceModel(self.model_path(), self.opts["threads"])
        width = int(np.prod(self.model.y_shape))
        if width != 1 + HARMONICS + BANDS:
            raise ModelError(f"{self.model.path}: y holds {width} values; a timbre model gives "
                             f"{1 + HARMONICS + BANDS} (amplitude, {HARMONICS} harmonics, {BANDS} noise bands)")
        self.instruments = int(np.prod(self.model.x_shape)) - 2
        if not 1 <= self.instruments <= MAX_INSTRUMENTS:
            raise ModelError(f"{self.model.path}: x holds {int(np.prod(self.model.x_shape))} values; a timbre "
                             f"model takes f0, loudness and 1..{MAX_INSTRUMENTS} instrument weights")
        self.names = instrument_names(self.model.path) or [f"instrument {i + 1}" for i in range(self.instruments)]
        rate, block = self.opts["sample_rate"], self.opts["block"]
        self.tracker = PitchTracker(rate, MODEL_HOP_S, fmin=self.opts["fmin"])
        self.synth = HarmonicNoiseSynth(rate, block, HARMONICS, BANDS, top_hz=MODEL_TOP_HZ,
                                        noise_top_hz=MODEL_TOP_HZ)
        self.reverb = Reverb(rate, block)
        self.clock = SampleClock(rate, block, self.opts["lead_blocks"])
        self._hop = self.tracker.hop
        self._since_step = 0
        self._y = np.zeros(1 + HARMONICS + BANDS, np.float32)
        self._f0, self._loudness, self._voiced = 0.0, SILENT_DB, False
        self._quiet_steps = RELEASE_STEPS
        self.model.step(np.zeros(self.model.x_shape, np.float32))     # warm up, then start clean
        self.model.reset()
        self.report(f"{self.model.path.name}: " + ", ".join(f"instrument{i + 1}={n}" for i, n in
                                                           enumerate(self.names[:MAX_INSTRUMENTS]))
                    + f"; latency {self.latency_ms():.1f} ms, playing from {self.opts['play']}")

    def latency_ms(self) -> float:
        """Algorithmic: the tracker's (or, played from controls, one 5 ms step's) and half a block of glide."""
        heard = self.tracker.latency_s if not self.generator else self._hop / self.opts["sample_rate"]
        return 1000 * (heard + self.opts["block"] / 2 / self.opts["sample_rate"])

    def status(self) -> dict[str, float]:
        return {"timbre/algorithmic_latency_ms": self.latency_ms()}

    def take_over(self, previous: Node) -> None:
        # A swapped model goes on from the old one's state (same shape), and the
        # tracker and synthesizer carry on as they were: no gap, no click.
        if not isinstance(previous, TimbreNode) or not hasattr(previous, "model"):
            return
        if previous.model.state_shapes == self.model.state_shapes:
            self.model.state = {k: v.copy() for k, v in previous.model.state.items()}
        same_stream = all(previous.opts[k] == self.opts[k] for k in ("sample_rate", "block", "fmin"))
        if same_stream:
            self.tracker, self.synth, self.reverb = previous.tracker, previous.synth, previous.reverb
            self._y, self._since_step = previous._y.copy(), previous._since_step
            self._f0, self._loudness, self._voiced = previous._f0, previous._loudness, previous._voiced
            self._quiet_steps = previous._quiet_steps

    # --- the model ---------------------------------------------------------------
    def _weights(self) -> np.ndarray:
        w = np.array([self.param[f"instrument{i + 1}"] for i in range(min(self.instruments, MAX_INSTRUMENTS))],
                     np.float32)
        return w / w.sum() if w.sum() > 0 else np.eye(self.instruments, dtype=np.float32)[0]

    def _step(self, f0_hz: float, loudness_db: float, voiced: bool) -> None:
        shift = self.param["pitch_shift"] + 12 * round(self.param["octave"])
        self._f0 = f0_hz * 2 ** (shift / 12) if f0_hz > 0 else 0.0
        self._loudness = loudness_db
        self._voiced = voiced and self._f0 > 0
        self._quiet_steps = 0 if self._voiced else self._quiet_steps + 1
        loud = loudness_db + self.param["loudness_shift_db"] if self._voiced else SILENT_DB
        midi = 69 + 12 * np.log2(max(self._f0, 1.0) / 440)
        x = np.concatenate([[midi / 127, np.clip((loud + 80) / 80, -0.5, 1.5)], self._weights()])
        self._y = self.model.step(x.astype(np.float32)).ravel()

    def _render(self) -> np.ndarray:
        y = self._y
        # After a note the model's own release plays (it hears silence); RELEASE_STEPS later the
        # output is gated to exact silence, so breath, noise and rests add no hiss.
        gain = 10 ** (self.param["level_db"] / 20) if self._quiet_steps < RELEASE_STEPS else 0.0
        controls = Controls(self._f0, float(y[0]) * gain, y[1:1 + HARMONICS],
                            y[1 + HARMONICS:] * self.param["noise"] * gain)
        out = self.synth.render(controls)
        room = self.param["reverb"]
        if room > 1e-4:
            if self.reverb.decay_s != self.param["reverb_s"]:
                self.reverb.set_decay(self.param["reverb_s"])
            out = out + room * self.reverb.process(out)
        return out

    # --- the two ways to play ------------------------------------------------------
    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.generator:
            return self._play_controls(inputs)
        packet = inputs["audio"]
        dry = packet.value.mean(axis=1) if packet.value.ndim == 2 else packet.value
        if len(dry) != self.opts["block"]:
            raise ModelError(f"timbre: a block of {len(dry)} frames came; the node was set for "
                             f"{self.opts['block']} (its block option)")
        for frame in self.tracker.feed(dry):
            self._step(frame.f0_hz, frame.loudness_db, frame.voiced)
        wet = self._render()
        mix = self.param["dry_wet"]
        out = wet * mix + dry.astype(np.float32) * (1 - mix)
        return self._outputs(out, packet.ts_us)

    def _play_controls(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        wanted = self.clocked_by.frames_wanted if self.clocked_by is not None else None
        if not self.clock.wait_turn(self.wait, wanted):
            return None
        ts = self.clock.stamp()
        f0 = inputs.get("f0_hz")
        loud = inputs.get("loudness_db")
        f0_hz = float(f0.value) if f0 is not None and np.isfinite(f0.value) else self.param["f0"]
        loudness = float(loud.value) if loud is not None and np.isfinite(loud.value) else self.param["loudness"]
        self._since_step += self.opts["block"]
        while self._since_step >= self._hop:          # one model step per 5 ms, as trained
            self._since_step -= self._hop
            self._step(f0_hz, loudness, f0_hz > 0 and loudness > -70.0)
        return self._outputs(self._render(), ts)

    def _outputs(self, mono: np.ndarray, ts_us: int) -> dict[str, Packet]:
        audio = np.repeat(mono[:, None], self.opts["channels"], axis=1).astype(np.float32)
        return {"audio": Packet(audio, ts_us), "f0_hz": Packet(self._f0 if self._voiced else 0.0, ts_us),
                "loudness_db": Packet(float(self._loudness), ts_us),
                "voiced": Packet(1.0 if self._voiced else 0.0, ts_us)}
