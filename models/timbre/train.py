"""Training the timbre network on the rendered tunes' training split.

Plan for two cores: the tunes are analysed once into the synthesizer's
controls (models/timbre/dataset.py); the network then learns to predict them
from f0, loudness and the instrument, a regression on 1.25 s windows that
needs no audio-rate synthesis in the loop (the cheap first stage; the
second, `--stage spectral` in models/timbre/spectral.py, fine-tunes on the
multi-scale spectral distance of the synthesized sound, which is what
`tensorstage eval timbre` measures). Losses, all L1 on log amplitudes with a
-80 dB floor: the harmonics' amplitudes (amplitude x distribution,
renormalised without the harmonics above 8 kHz, as the synthesizer does), the
overall amplitude, and the noise band gains.

Time budget, checkpoints every minute and at the end, resume, progress, and an
audio preview (preview.wav: a validation tune, left the rendering, right the
network through the engine's synthesizer).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.common import checkpoint
from models.timbre import analysis

WINDOW_FRAMES = 250      # 1.25 s
DEFAULT_INSTRUMENTS = ("violin", "flute", "cello")


@dataclass
class Settings:
    out_dir: Path
    instruments: tuple[str, ...] = DEFAULT_INSTRUMENTS
    time_budget_s: float = 30 * 60
    steps: int | None = None
    batch: int = 16
    learning_rate: float = 3e-3
    units: int = 256
    checkpoint_every_s: float = 60.0
    seed: int = 0
    limit: int | None = None          # tunes per split (tests)
    threads: int | None = None
    cache: Path | None = field(default=None)
    stage: str = "controls"           # or "spectral" (models/timbre/spectral.py), from `init`
    init: Path | None = None          # the first-stage .keras the spectral stage starts from


def log_amp(values, keras_ops):
    return keras_ops.log(values + analysis.FLOOR)


class Trainer:
    def __init__(self, settings: Settings, progress=print):
        import keras
        import tensorflow as tf

        from models.timbre import dataset, network

        self.tf, self.keras, self.settings, self.progress = tf, keras, settings, progress
        if settings.threads:
            tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        self.tunes = dataset.load("train", settings.instruments, settings.cache, settings.limit, progress)
        self.validation = dataset.load("validation", settings.instruments, settings.cache,
                                       settings.limit and max(1, settings.limit // 4), progress)
        progress(f"timbre: {len(self.tunes.files)} training renderings ({len(self.tunes.f0) * 0.005 / 60:.1f} min "
                 f"of sound), instruments {', '.join(settings.instruments)}")
        count = len(settings.instruments)
        self.x = inputs_of(self.tunes)
        self.harmonics = np.nan_to_num(self.tunes.harmonics, nan=-1.0)        # -1: above the ceiling
        self.noise = self.tunes.noise
        # Window starts that stay inside one tune.
        ends = self.tunes.starts[1:]
        self.window_starts = np.concatenate([np.arange(a, b - WINDOW_FRAMES) for a, b in
                                             zip(self.tunes.starts[:-1], ends) if b - a > WINDOW_FRAMES])
        self.model = network.build(count, settings.units)
        self.optimizer = keras.optimizers.Adam(settings.learning_rate, clipnorm=1.0)
        self.optimizer.build(self.model.trainable_variables)
        self.state = {"step": 0, "elapsed_s": 0.0, "loss": None, "units": settings.units, "stage": "controls",
                      "instruments": list(settings.instruments), "renderings": len(self.tunes.files)}
        self.rng = np.random.default_rng(settings.seed)
        self._step_fn = tf.function(self._train_step, reduce_retracing=True)
        self._resume()

    def _resume(self):
        checkpoint.resume(self, "timbre", {"units": self.settings.units, "stage": "controls",
                                           "instruments": list(self.settings.instruments)},
                          defaults={"stage": "controls"})

    def loss(self, x, harmonics, noise):
        return self.control_loss(self.model(x, training=True), harmonics, noise)

    def control_loss(self, y, harmonics, noise):
        """L1 log-amplitude losses of controls y against measured ones: harmonics,
        overall amplitude, and half the noise bands'."""
        from keras import ops
        amplitude, distribution, noise_out = y[..., :1], y[..., 1:1 + analysis.HARMONICS], y[..., 1 + analysis.HARMONICS:]
        below = ops.cast(harmonics >= 0, "float32")          # harmonics under the 8 kHz ceiling
        kept = distribution * below
        kept = kept / (ops.sum(kept, axis=-1, keepdims=True) + 1e-7)
        predicted = amplitude * kept
        truth = ops.maximum(harmonics, 0.0)
        harmonic = ops.sum(ops.abs(log_amp(predicted, ops) - log_amp(truth, ops)) * below) / (ops.sum(below) + 1)
        overall = ops.mean(ops.abs(log_amp(amplitude[..., 0], ops) - log_amp(ops.sum(truth, axis=-1), ops)))
        noisy = ops.mean(ops.abs(log_amp(noise_out, ops) - log_amp(noise, ops)))
        return harmonic + overall + 0.5 * noisy

    def _train_step(self, x, harmonics, noise):
        tf = self.tf
        with tf.GradientTape() as tape:
            loss = self.loss(x, harmonics, noise)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss

    def batch(self):
        starts = self.rng.choice(self.window_starts, self.settings.batch)
        index = starts[:, None] + np.arange(WINDOW_FRAMES)[None, :]
        return self.x[index], self.harmonics[index], self.noise[index]

    def run(self):
        def report(loss, left_s):
            self.state["loss"] = float(loss)
            self.progress(f"timbre: step {self.state['step']} lr {float(self.optimizer.learning_rate):.5f} "
                          f"loss {self.state['loss']:.4f} {self.state['elapsed_s'] / 60:.1f} min, "
                          f"{left_s / 60:.1f} min left")
        return checkpoint.run(self, lambda: float(self._step_fn(*self.batch())), report)

    def checkpoint(self):
        self.state["validation_loss"] = self.validation_loss()
        checkpoint.save(self.settings.out_dir, self.model, self.optimizer, self.state)
        self.preview()

    def validation_loss(self) -> float:
        """The loss on 64 fixed windows of the validation tunes (one batch: a GRU over a
        whole hour of frames would take minutes)."""
        v = self.validation
        x = inputs_of(v)
        starts = np.linspace(0, len(x) - WINDOW_FRAMES - 1, 64).astype(int)
        index = starts[:, None] + np.arange(WINDOW_FRAMES)[None, :]
        return float(self.loss(x[index], np.nan_to_num(v.harmonics, nan=-1.0)[index], v.noise[index]))

    def preview(self, seconds: float = 8.0):
        """preview.wav: a validation rendering (left) and the network through the synthesizer (right)."""
        import soundfile

        from models.timbre import dataset
        from models.timbre.synthesis import render_sequence
        v = self.validation
        tune = v.tune(0)
        frames = min(len(tune["f0"]), int(seconds / 0.005))
        weights = np.eye(len(v.instruments), dtype=np.float32)[v.instrument[0]]
        controls = predict(self.model, tune["f0_held"][:frames], tune["loudness_db"][:frames], weights)
        ours = render_sequence(tune["f0_held"][:frames], controls)
        truth = dataset.audio_of(v.files[0], self.settings.cache)[: len(ours)]
        soundfile.write(str(self.settings.out_dir / "preview.wav"), np.stack([truth, ours[: len(truth)]], 1),
                        analysis.RATE)


def inputs_of(tunes) -> np.ndarray:
    """The network's input for every frame of a split's tunes, each with its own instrument."""
    from models.timbre import network
    weights = np.eye(len(tunes.instruments), dtype=np.float32)[tunes.instrument]
    return network.scale_inputs(tunes.f0_held, tunes.loudness_db, np.repeat(weights, np.diff(tunes.starts), axis=0))


def predict(model, f0_held, loudness_db, weights) -> np.ndarray:
    """The network over a whole sequence: (frames, 126) controls."""
    from models.timbre import network
    x = network.scale_inputs(f0_held, loudness_db, weights)
    return np.asarray(model(x[None], training=False))[0]


def write_artifacts(trainer: Trainer) -> dict:
    """timbre.keras, timbre.tflite (float32 step) and the card timbre.json in the run folder."""
    from models.timbre.export import export
    out = trainer.settings.out_dir
    trainer.model.save(out / "timbre.keras")
    path = export(trainer.model, out / "timbre.tflite")
    loss = ("L1 on log harmonic amplitudes, overall amplitude and noise band gains (-80 dB floor), "
            "targets measured from the renderings at the score's f0")
    if trainer.state["stage"] == "spectral":
        from models.timbre.spectral import ANCHOR
        loss = (f"multi-scale spectral distance (FFT 64..2048) of the sound through the engine's synthesizer, "
                f"plus {ANCHOR} x the first stage's loss ({loss})")
    card = {
        "model": "tensorstage timbre network (f0, loudness, instrument -> harmonic-plus-noise controls)",
        "instruments": list(trainer.settings.instruments),
        "frame_s": analysis.HOP / analysis.RATE,
        "input": "x: [MIDI pitch / 127, (loudness dB + 80) / 80, instrument weights...] per 5 ms frame",
        "output": f"y: [amplitude, {analysis.HARMONICS} harmonic distribution, {analysis.BANDS} noise band gains "
                  f"(linear, 0..{analysis.TOP_HZ:g} Hz)]",
        "units": trainer.settings.units,
        "parameters": int(trainer.model.count_params()),
        "training": checkpoint.card_training(
            trainer, f"{trainer.state['renderings']} FluidR3 renderings (train split) of public-domain tunes",
            loss, window_s=WINDOW_FRAMES * 0.005),
        "files": {"float32": path.name, "keras": "timbre.keras"},
    }
    if trainer.state["stage"] == "spectral":
        first_card = Path(trainer.state["init"]).with_name("timbre.json")
        if first_card.is_file():
            card["training"]["first_stage"] = json.loads(first_card.read_text())["training"]
    (out / "timbre.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(settings: Settings) -> int:
    from models.timbre.dataset import TimbreDataError
    try:
        if settings.stage == "spectral":
            from models.timbre.spectral import SpectralTrainer
            trainer = SpectralTrainer(settings)
        else:
            trainer = Trainer(settings)
    except (TimbreDataError, ValueError) as error:
        print(f"tensorstage train timbre: {error}", file=sys.stderr)
        return 1
    state = trainer.run()
    card = write_artifacts(trainer)
    print(f"timbre: {state['step']} steps in {state['elapsed_s'] / 60:.1f} min, loss {state['loss']}, "
          f"validation {state.get('validation_loss'):.4f}; wrote {', '.join(card['files'].values())} and "
          f"timbre.json in {settings.out_dir}")
    return 0
