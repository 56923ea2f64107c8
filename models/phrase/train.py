"""Training the phrase network on the rendered tunes' training split.

Next-frame prediction on 8 s windows (400 frames of 20 ms) of the token
streams, cross-entropy on the pitch and on the loudness token; each window is
transposed by a random -5..+6 semitones (rests stay rests), so the network
learns keys from the context rather than from absolute pitch; its input holds
the key profile heard so far (engine/runtime/phrase.py), from the tune's start. Time budget,
checkpoints every minute and at the end, resume, progress, and an audio
preview (preview.wav: 4 s of a validation tune as heard, then 8 s the
network generates from it, played by a plain harmonic tone).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.runtime import phrase
from models.common import checkpoint

WINDOW = 400
SHIFTS = np.arange(-5, 7)


@dataclass
class Settings:
    out_dir: Path
    time_budget_s: float = 20 * 60
    steps: int | None = None
    batch: int = 32
    learning_rate: float = 3e-3
    units: int = 256
    checkpoint_every_s: float = 60.0
    seed: int = 0
    limit: int | None = None
    cache: Path | None = field(default=None)


def windows(melodies, rng: np.random.Generator, batch: int, length: int = WINDOW):
    """(x one-hot of the previous frame, pitch targets, loudness targets) for `batch` random windows."""
    xs, pitches, louds = [], [], []
    for _ in range(batch):
        i = int(rng.integers(len(melodies)))
        pitch, loud = melodies.pitch[i], melodies.loudness[i]
        start = int(rng.integers(0, max(1, len(pitch) - length - 1)))
        p = pitch[start:start + length + 1].copy()
        l_ = loud[start:start + length + 1]
        if len(p) < length + 1:                          # a short tune: pad with rests
            pad = length + 1 - len(p)
            p, l_ = np.concatenate([p, np.zeros(pad, int)]), np.concatenate([l_, np.zeros(pad, int)])
        shift = int(rng.choice(SHIFTS))
        p = np.where(p > 0, np.clip(p + shift, 1, phrase.PITCHES - 1), 0)
        # The key profile carries the tune before the window (rolled by the transposition).
        key = np.roll(melodies.keys[i][start:start + length], shift, axis=1)
        if len(key) < length:
            key = np.concatenate([key, np.repeat(key[-1:], length - len(key), axis=0)])
        xs.append(phrase.one_hot(p[:-1], l_[:-1], key))
        pitches.append(p[1:])
        louds.append(l_[1:])
    return np.stack(xs), np.stack(pitches), np.stack(louds)


class Trainer:
    def __init__(self, settings: Settings, progress=print):
        import keras
        import tensorflow as tf

        from models.phrase import data, network

        self.tf, self.settings, self.progress = tf, settings, progress
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        self.melodies = data.load("train", cache=settings.cache, limit=settings.limit)
        self.validation = data.load("validation", cache=settings.cache,
                                    limit=settings.limit and max(1, settings.limit // 4))
        frames = sum(len(p) for p in self.melodies.pitch)
        progress(f"phrase: {len(self.melodies)} training melodies ({frames * phrase.FRAME_S / 60:.1f} min)")
        self.model = network.build(settings.units)
        self.optimizer = keras.optimizers.Adam(settings.learning_rate, clipnorm=1.0)
        self.optimizer.build(self.model.trainable_variables)
        self.state = {"step": 0, "elapsed_s": 0.0, "loss": None, "units": settings.units,
                      "melodies": len(self.melodies)}
        self.rng = np.random.default_rng(settings.seed)
        self._step_fn = tf.function(self._train_step, reduce_retracing=True)
        checkpoint.resume(self, "phrase", {"units": settings.units})

    def loss(self, x, pitch, loud):
        import keras
        logits = self.model(x, training=True)
        ce = keras.losses.sparse_categorical_crossentropy
        return (self.tf.reduce_mean(ce(pitch, logits[..., :phrase.PITCHES], from_logits=True))
                + self.tf.reduce_mean(ce(loud, logits[..., phrase.PITCHES:], from_logits=True)))

    def _train_step(self, x, pitch, loud):
        with self.tf.GradientTape() as tape:
            loss = self.loss(x, pitch, loud)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss

    def validation_loss(self) -> float:
        x, pitch, loud = windows(self.validation, np.random.default_rng(7), 32)
        return float(self.loss(x, pitch, loud))

    def run(self):
        def report(loss, left_s):
            self.state["loss"] = float(loss)
            self.progress(f"phrase: step {self.state['step']} loss {self.state['loss']:.4f} (nats per frame, "
                          f"pitch + loudness) {self.state['elapsed_s'] / 60:.1f} min, {left_s / 60:.1f} min left")
        return checkpoint.run(self, lambda: float(self._step_fn(*windows(self.melodies, self.rng, self.settings.batch))),
                              report)

    def checkpoint(self):
        self.state["validation_loss"] = self.validation_loss()
        checkpoint.save(self.settings.out_dir, self.model, self.optimizer, self.state)
        self.preview()

    def preview(self):
        import soundfile

        from models.phrase.generate import continue_phrase, render_tone
        v = self.validation
        heard = min(len(v.pitch[0]), 200)
        p, l_ = continue_phrase(self.model, v.pitch[0][:heard], v.loudness[0][:heard], 400, 0.8,
                                np.random.default_rng(0))
        audio = render_tone(np.concatenate([v.pitch[0][:heard], p]), np.concatenate([v.loudness[0][:heard], l_]))
        soundfile.write(str(self.settings.out_dir / "preview.wav"), audio, 16000)


def write_artifacts(trainer: Trainer) -> dict:
    from models.phrase.export import export
    out = trainer.settings.out_dir
    trainer.model.save(out / "phrase.keras")
    path = export(trainer.model, out / "phrase.tflite")
    card = {
        "model": "tensorstage phrase network (previous frame's pitch and loudness tokens -> this frame's logits)",
        "frame_s": phrase.FRAME_S,
        "tokens": f"pitch: rest + MIDI {phrase.LOWEST_MIDI}..{phrase.LOWEST_MIDI + phrase.PITCHES - 2}; loudness: "
                  f"{phrase.LOUDNESS_STEPS} steps of {phrase.LOUDNESS_STEP_DB:g} dB from {phrase.LOUDNESS_FLOOR_DB:g} dB",
        "units": trainer.settings.units,
        "parameters": int(trainer.model.count_params()),
        "training": checkpoint.card_training(
            trainer, f"{trainer.state['melodies']} FluidR3 renderings (train split) of public-domain tunes, "
                     "transposed -5..+6 semitones at random",
            "cross-entropy of the next frame's pitch and loudness tokens (nats per frame)",
            window_s=WINDOW * phrase.FRAME_S),
        "files": {"float32": path.name, "keras": "phrase.keras"},
    }
    (out / "phrase.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(settings: Settings) -> int:
    from models.timbre.dataset import TimbreDataError
    try:
        trainer = Trainer(settings)
    except (TimbreDataError, ValueError) as error:
        print(f"tensorstage train phrase: {error}", file=sys.stderr)
        return 1
    state = trainer.run()
    card = write_artifacts(trainer)
    print(f"phrase: {state['step']} steps in {state['elapsed_s'] / 60:.1f} min, loss {state['loss']}, validation "
          f"{state.get('validation_loss'):.4f}; wrote {', '.join(card['files'].values())} and phrase.json in "
          f"{settings.out_dir}")
    return 0
