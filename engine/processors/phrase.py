"""Call and response: the engine listens to the performer and, when they pause,
answers with a phrase of its own that continues what it heard, played by the
timbre model's instrument.

What it hears (the live tracker, every 5 ms) becomes pitch and loudness tokens
every 20 ms (engine/runtime/phrase.py). After `answer_after_s` of silence
following a phrase, a worker thread primes the phrase model (a GRU,
models/phrase/, a LiteRT sequence step) with the last 8 s heard and samples
`answer_s` seconds at `temperature`; the node plays the tokens through the
timbre model and synthesizer, as the `timbre` node plays a voice. Modes:
`answer` (the performer starting again stops the answer), `continue` (it
keeps generating from its own state, a melody that goes on), `off`.
`/phrase/prime` answers now, `/phrase/stop` stops. The melody it plays goes
out as control streams (f0_hz, loudness_db, playing) for Max or TouchDesigner
to follow. Generation never runs in the audio path: the worker keeps a queue
of tokens at least a second ahead.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

import numpy as np

from engine.node import OscCommand, Option, Port, register
from engine.packet import AUDIO, CONTROL, Packet
from engine.params import CHOICE, FLOAT, ParamSpec
from engine.processors.timbre import SHIPPED as TIMBRE_SHIPPED
from engine.processors.timbre import SILENT_DB, TimbreNode
from engine.runtime import phrase
from engine.runtime.backend import ModelError

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "phrase" / "phrase.tflite"
HEARD_FRAMES = 400                  # 8 s of tokens prime an answer
AHEAD_FRAMES = 50                   # continue mode keeps a second generated ahead
STEPS_PER_TOKEN = round(phrase.FRAME_S / 0.005)


class Composer:
    """The worker thread that owns the phrase model and samples tokens into a queue."""

    def __init__(self, path: Path, threads: int) -> None:
        from engine.runtime.sequence import SequenceModel
        self.model = SequenceModel(path, threads)
        outputs = phrase.PITCHES + phrase.LOUDNESS_STEPS
        if int(np.prod(self.model.x_shape)) != phrase.INPUTS or int(np.prod(self.model.y_shape)) != outputs:
            raise ModelError(f"{self.model.path}: a phrase model takes {phrase.INPUTS} values (pitch and loudness "
                             f"tokens, key profile) and gives {outputs} logits; this one takes "
                             f"{list(self.model.x_shape)}, gives {list(self.model.y_shape)}")
        self.queue: deque[tuple[int, int]] = deque()
        self._requests: deque[tuple] = deque(maxlen=4)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._rng = np.random.default_rng()
        self._logits: np.ndarray | None = None
        self._key = phrase.KeyProfile()
        self.generation = 0                     # bumped by stop(): stale work is dropped
        self.thread = threading.Thread(target=self._run, name="phrase-composer", daemon=True)
        self.thread.start()

    def answer(self, heard: list[tuple[int, int]], frames: int, temperature: float) -> None:
        self._requests.append(("answer", self.generation, list(heard), frames, temperature))
        self._wake.set()

    def more(self, frames: int, temperature: float) -> None:
        self._requests.append(("more", self.generation, None, frames, temperature))
        self._wake.set()

    def stop(self) -> None:
        self.generation += 1
        self.queue.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            while self._requests and not self._stop.is_set():
                kind, generation, heard, frames, temperature = self._requests.popleft()
                if generation != self.generation:
                    continue
                if kind == "answer" or self._logits is None:
                    self.model.reset()
                    self._logits, self._key = None, phrase.KeyProfile()
                    for p, l_ in (heard or self._seed()):
                        self._advance(p, l_)
                for _ in range(frames):
                    if generation != self.generation or self._stop.is_set():
                        break
                    p, l_ = phrase.sample(self._logits, temperature, self._rng)
                    self.queue.append((p, l_))
                    self._advance(p, l_)

    def _seed(self) -> list[tuple[int, int]]:
        """Nothing heard: one note (C4..C5, mezzo) to start from; from a rest the model stays at rest."""
        pitch = int(phrase.pitch_token(np.array([440.0 * 2 ** ((self._rng.integers(60, 73) - 69) / 12)]))[0])
        return [(pitch, 10)] * 10

    def _advance(self, pitch: int, loudness: int) -> None:
        self._key.add(pitch)
        self._logits = self.model.step(phrase.one_hot(pitch, loudness, self._key.normalised())).ravel()


@register
class PhraseNode(TimbreNode):
    type_name = "phrase"
    description = "Answers the performer with a generated phrase that continues what it heard (phrase RNN -> timbre)."
    inputs = (Port("audio", AUDIO, "the performer to listen to", optional=True),)
    outputs = (Port("audio", AUDIO, "the answer, mono copied to each channel"),
               Port("f0_hz", CONTROL, "the pitch it plays (0 when silent)"),
               Port("loudness_db", CONTROL, "the level it plays (dBFS; -80 silent)"),
               Port("playing", CONTROL, "1 while it answers or continues, else 0"))
    options = {
        **{k: v for k, v in TimbreNode.options.items() if k != "path"},
        "path": Option(str, "", "a phrase model .tflite (default: the shipped one)"),
        "timbre_path": Option(str, "", "the timbre model that plays it (default: the shipped one)"),
        "play": Option(str, "audio", "audio: listen to the audio input; controls: no input, play by the "
                       "speakers' clock (continue mode, or /phrase/prime)", choices=("audio", "controls")),
    }
    params = {
        **{k: v for k, v in TimbreNode.params.items() if k not in ("f0", "loudness")},
        "dry_wet": ParamSpec(FLOAT, 1.0, "0 the performer alone, 1 the answer alone", min=0.0, max=1.0,
                             smoothing_s=0.1),
        "mode": ParamSpec(CHOICE, "answer", "answer after a pause, continue for ever, or off",
                          choices=("answer", "continue", "off")),
        "answer_after_s": ParamSpec(FLOAT, 1.0, "the pause that calls for an answer", min=0.2, max=10.0, unit="s"),
        "answer_s": ParamSpec(FLOAT, 6.0, "length of an answer", min=1.0, max=60.0, unit="s"),
        "temperature": ParamSpec(FLOAT, 0.8, "0 the likeliest notes, 1 as learned, above: wilder", min=0.0,
                                 max=2.0),
    }
    osc_commands = {"prime": OscCommand((), "answer now, from what was heard"),
                    "stop": OscCommand((), "stop answering (and, in continue mode, start afresh)")}

    def model_path(self) -> Path:
        return Path(self.opts["timbre_path"]).expanduser() if self.opts["timbre_path"] else TIMBRE_SHIPPED

    def phrase_path(self) -> Path:
        return Path(self.opts["path"]).expanduser() if self.opts["path"] else SHIPPED

    def open(self) -> None:
        super().open()
        self.composer = Composer(self.phrase_path(), 1)
        self.heard: deque[tuple[int, int]] = deque(maxlen=HEARD_FRAMES)
        self._heard_voiced = False
        self._silent_s = 0.0
        self._token_steps = 0                   # 5 ms steps into the current 20 ms token
        self._frames: list = []                 # tracker frames of the token being heard
        self._playing: tuple[int, int] | None = None
        self._play_steps = 0
        self._answering = False
        self.report(f"{self.composer.model.path.name}: answers after a pause, played by {self.model.path.name}")

    def close(self) -> None:
        if hasattr(self, "composer"):
            self.composer.close()

    def take_over(self, previous) -> None:
        super().take_over(previous)
        if isinstance(previous, PhraseNode) and hasattr(previous, "heard"):
            self.heard = previous.heard

    # --- listening -----------------------------------------------------------------
    def _listen(self, frames) -> None:
        for frame in frames:
            self._frames.append(frame)
            if len(self._frames) < STEPS_PER_TOKEN:
                continue
            voiced = [f for f in self._frames if f.voiced]
            loudness = max(f.loudness_db for f in self._frames) + self.param["loudness_shift_db"]
            pitch = int(phrase.pitch_token(np.array([voiced[-1].f0_hz]))[0]) if len(voiced) >= 2 else 0
            self.heard.append((pitch, int(phrase.loudness_token(np.array([loudness]))[0])))
            self._frames = []
            if pitch:
                self._heard_voiced = True
                self._silent_s = 0.0
                if self._answering and self.param["mode"] == "answer":
                    self._stop_answer()              # the performer plays again: the machine listens
            else:
                self._silent_s += phrase.FRAME_S

    def _stop_answer(self) -> None:
        self.composer.stop()
        self._answering = False
        self._playing = None

    def _decide(self) -> None:
        for name, _ in self.take_commands():
            if name == "stop":
                self._stop_answer()
            elif name == "prime":
                self._start_answer()
        mode = self.param["mode"]
        if mode == "off":
            if self._answering:
                self._stop_answer()
            return
        if mode == "continue":
            if not self._answering:
                self._start_answer()
            elif len(self.composer.queue) < AHEAD_FRAMES:
                self.composer.more(AHEAD_FRAMES, self.param["temperature"])
            return
        if (not self._answering and self._heard_voiced
                and self._silent_s >= self.param["answer_after_s"]):
            self._start_answer()

    def _start_answer(self) -> None:
        self.composer.stop()
        frames = int(self.param["answer_s"] / phrase.FRAME_S)
        heard = list(self.heard)
        # The pause that called for the answer is not part of the phrase: primed with it, the
        # model (which saw long silences only where tunes end) would answer with silence.
        while heard and not heard[-1][0]:
            heard.pop()
        self.composer.answer(heard, frames, self.param["temperature"])
        self._answering, self._heard_voiced = True, False
        self._play_steps = 0

    # --- playing -------------------------------------------------------------------
    def _advance(self, steps: int) -> None:
        """`steps` 5 ms steps of the answer through the timbre model."""
        for _ in range(steps):
            if self._play_steps % STEPS_PER_TOKEN == 0:
                if self.composer.queue:
                    self._playing = self.composer.queue.popleft()
                elif self._answering and self.param["mode"] == "answer" and self._playing is not None:
                    self._answering, self._playing = False, None      # the answer is over
            self._play_steps += 1
            pitch, loud = self._playing if self._playing is not None else (0, 0)
            f0 = float(phrase.f0_of(np.array([pitch]))[0]) if pitch else 0.0     # 0: the synth holds its pitch
            loudness = float(phrase.loudness_of(np.array([loud]))[0]) if pitch else SILENT_DB
            self._step(f0, loudness, pitch > 0)

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.generator:
            wanted = self.clocked_by.frames_wanted if self.clocked_by is not None else None
            if not self.clock.wait_turn(self.wait, wanted):
                return None
            ts, dry = self.clock.stamp(), np.zeros(self.opts["block"], np.float32)
        else:
            packet = inputs["audio"]
            ts = packet.ts_us
            dry = packet.value.mean(axis=1) if packet.value.ndim == 2 else packet.value
            self._listen(self.tracker.feed(dry))
        self._decide()
        self._since_step += self.opts["block"]
        steps = self._since_step // self._hop
        self._since_step -= steps * self._hop
        self._advance(steps)
        mix = self.param["dry_wet"]
        out = self._render() * mix + dry.astype(np.float32) * (1 - mix)
        audio = np.repeat(out[:, None], self.opts["channels"], axis=1).astype(np.float32)
        playing = self._voiced and self._answering
        return {"audio": Packet(audio, ts), "f0_hz": Packet(self._f0 if playing else 0.0, ts),
                "loudness_db": Packet(float(self._loudness) if playing else SILENT_DB, ts),
                "playing": Packet(1.0 if self._answering else 0.0, ts)}
