"""Training the colorization network on the photo manifest's train split.

Plan for two cores:
- the train-split photos are read once and kept in memory at 384 px on the
  short side; each step cuts fresh crops from them at random places and scales
  (a third to the whole of the short side) and flips them. The first model
  trained on 1,488 fixed crops and learned them by heart: 26.0 dB on its
  training photos, 17.9 on held-out ones, below the grey image's 19.1;
- hints are simulated as in Zhang et al. 2017: half the time none (automatic
  colorization), else a geometric number (mean 8) of small squares (1 to 9 px)
  carrying the mean true colour of the square;
- half of the hinted crops are turned to a random hue (`turn_hues`), so only
  their hints tell their colour and the network learns to follow hints;
- loss: the squared error on a and b at the output's quarter size (the mean
  colour, what PSNR rewards), or Huber; optionally each pixel weighted by how
  rare its colour is (class rebalancing over a 16 x 16 grid of a and b, mixed
  with uniform by `rebalance`: Zhang et al. 2016's lambda; 1, the default,
  weighs all alike);
- a time budget, checkpoints (weights, optimizer state, step, elapsed time)
  every minute and at the end, resume from the last one, a preview image
  (grey | automatic | 8 hints | truth).

Only photos of the `train` split are used (never `test`, never `validation`).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.runtime.color import AB_SCALE, to_lab
from models.common import checkpoint

BINS = 16
NO_HINTS = 0.5        # share of steps with no hints at all
MEAN_HINTS = 8.0


@dataclass
class Settings:
    out_dir: Path
    time_budget_s: float = 40 * 60
    steps: int | None = None
    batch: int = 16
    crop: int = 128                  # a multiple of 8
    learning_rate: float = 2e-3
    widths: tuple[int, int, int] = (16, 32, 64)
    mean_hints: float = MEAN_HINTS   # hints per crop when there are any (the eval: 10 at 256 px)
    # The shipped model's recipe (MODEL_CARD.md: chosen on the validation photos)
    rebalance: float = 1.0           # lambda of Zhang et al. 2016: 1 plain loss, 0 fully inverse-frequency
    loss: str = "l2"                 # "l2" (the mean colour, what PSNR rewards) or "huber" (delta 0.1, nearly L1)
    hint_hue_jitter: float = 0.5     # share of hinted crops whose colours (truth and hints) turn by a random hue
    weight_decay: float = 1e-4       # AdamW: against learning 31 photos by heart
    photo_side: int = 384            # the photos' short side in memory
    checkpoint_every_s: float = 60.0
    seed: int = 0
    packages: list[str] | None = None
    threads: int | None = None


def train_photos(side: int, packages=None) -> list[np.ndarray]:
    """The manifest's train-split photos with trainable licences (of these
    `packages` only, if given), RGB, resized to `side` px on the short side."""
    import cv2

    from models.common import data
    entries = data.select(data.read_manifest(), split="train", kind="photo", trainable_only=True)
    if packages:
        entries = [e for e in entries if e.package in packages]
    if not entries:
        raise data.DataError("no train-split photos on this machine: "
                             + data.install_hint(packages or ["opencv-doc", "scikit-image"]))
    photos = []
    for entry in entries:
        rgb = data.load_rgb(data.resolve(entry))
        scale = side / min(rgb.shape[:2])
        photos.append(cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                                 interpolation=cv2.INTER_AREA))
    return photos


def random_crops(photos: list[np.ndarray], size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` square crops from random photos, each a third to all of the short
    side, resized to `size`, flipped half the time."""
    from models.common.data import crops
    return np.stack([crops(photos[int(rng.integers(len(photos)))], size, 1, rng, smallest=1 / 3)[0]
                     for _ in range(count)])


def lab_crops(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB crops -> (L / 100 as (N, H, W, 1), ab / AB_SCALE as (N, H, W, 2)), float32."""
    lab = np.stack([to_lab(c) for c in rgb])
    return lab[..., :1] / 100.0, lab[..., 1:] / AB_SCALE


def quarter(ab: np.ndarray) -> np.ndarray:
    """Mean of each 4 x 4 block: the truth at the output's size."""
    n, h, w, c = ab.shape
    return ab.reshape(n, h // 4, 4, w // 4, 4, c).mean(axis=(2, 4))


def colour_weights(ab_small: np.ndarray, rebalance: float) -> np.ndarray:
    """(BINS, BINS) weights: rare colours count more; the mean weight over the
    training pixels is 1."""
    index = np.clip(((ab_small + 1) / 2 * BINS).astype(int), 0, BINS - 1)
    counts = np.bincount(index[..., 0].ravel() * BINS + index[..., 1].ravel(), minlength=BINS * BINS)
    p = counts / counts.sum()
    mixed = (1 - rebalance) * p + rebalance / (BINS * BINS)
    weights = np.where(mixed > 0, 1.0 / np.maximum(mixed, 1e-12), 0.0)     # at 0, unseen bins count 0
    weights /= (weights * p).sum()
    return weights.reshape(BINS, BINS).astype(np.float32)


def simulate_hints(ab: np.ndarray, rng: np.random.Generator, no_hints: float = NO_HINTS,
                   mean_hints: float = MEAN_HINTS) -> np.ndarray:
    """(N, H, W, 3) hint planes from the true ab: squares of the true mean colour."""
    n, h, w, _ = ab.shape
    planes = np.zeros((n, h, w, 3), np.float32)
    for i in range(n):
        if rng.random() < no_hints:
            continue
        for _ in range(int(rng.geometric(1.0 / mean_hints))):
            size = int(rng.integers(1, 10))
            y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            planes[i, y:y + size, x:x + size, :2] = ab[i, y:y + size, x:x + size].mean(axis=(0, 1))
            planes[i, y:y + size, x:x + size, 2] = 1.0
    return planes


def turn_hues(ab: np.ndarray, hints: np.ndarray, share: float, rng: np.random.Generator):
    """`share` of the hinted crops with their colours (truth and hints alike)
    turned by a random hue angle, the lightness kept. 31 photos are learned by
    heart, so their colours follow from the lightness and hints tell the
    network nothing it needs: on a crop whose colours it cannot know, only the
    hints give them, and it learns to carry them along the picture."""
    ab, hints = ab.copy(), hints.copy()
    for i in range(len(ab)):
        if hints[i, ..., 2].any() and rng.random() < share:
            angle = rng.uniform(0, 2 * np.pi)
            turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]], np.float32)
            ab[i] = np.clip(ab[i] @ turn, -1, 1)
            hints[i, ..., :2] = np.clip(hints[i, ..., :2] @ turn, -1, 1) * hints[i, ..., 2:]
    return ab, hints


class Trainer:
    def __init__(self, settings: Settings, progress=print):
        import keras
        import tensorflow as tf

        from models.colorize import network

        self.tf, self.keras, self.settings, self.progress = tf, keras, settings, progress
        if settings.threads:
            tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        self.photos = train_photos(settings.photo_side, settings.packages)
        self.rng = np.random.default_rng(settings.seed)
        # The colour statistics for the rebalancing weights, and the preview's crops.
        sample = random_crops(self.photos, settings.crop, 512, np.random.default_rng(settings.seed + 1))
        self.lightness, self.ab = lab_crops(sample)
        self.weights = colour_weights(quarter(self.ab), settings.rebalance)
        progress(f"colorize: {len(self.photos)} training photos, random {settings.crop} px crops")
        self.model = network.build(widths=tuple(settings.widths))
        self.optimizer = keras.optimizers.AdamW(settings.learning_rate, weight_decay=settings.weight_decay)
        self.optimizer.build(self.model.trainable_variables)
        self.state = {"step": 0, "elapsed_s": 0.0, "loss": None, "widths": list(settings.widths),
                      "loss_kind": settings.loss,
                      "photos": len(self.photos)}
        self._step_fn = tf.function(self._train_step, reduce_retracing=True)
        self._resume()

    def _resume(self):
        checkpoint.resume(self, "colorize", {"widths": list(self.settings.widths), "loss_kind": self.settings.loss},
                          defaults={"loss_kind": "huber"})

    def checkpoint(self):
        checkpoint.save(self.settings.out_dir, self.model, self.optimizer, self.state)

    def _train_step(self, lightness, hints, truth, weight):
        tf = self.tf
        with tf.GradientTape() as tape:
            ab = self.model({"lightness": lightness, "hints": hints}, training=True)
            error = tf.abs(ab - truth)
            if self.settings.loss == "l2":
                per_pixel = error * error
            else:
                per_pixel = tf.where(error < 0.1, 0.5 * error * error / 0.1, error - 0.05)
            loss = tf.reduce_mean(tf.reduce_sum(per_pixel, axis=-1) * weight)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss

    def batch(self):
        s = self.settings
        lightness, ab = lab_crops(random_crops(self.photos, s.crop, s.batch, self.rng))
        hints = simulate_hints(ab, self.rng, mean_hints=s.mean_hints)
        if s.hint_hue_jitter > 0:
            ab, hints = turn_hues(ab, hints, s.hint_hue_jitter, self.rng)
        truth = quarter(ab)
        index = np.clip(((truth + 1) / 2 * BINS).astype(int), 0, BINS - 1)
        weight = self.weights[index[..., 0], index[..., 1]]
        return lightness, hints, truth.astype(np.float32), weight

    def run(self):
        def report(loss, left_s):
            self.state["loss"] = float(loss)
            self.progress(f"colorize: step {self.state['step']} lr {float(self.optimizer.learning_rate):.5f} "
                          f"loss {self.state['loss']:.4f} {self.state['elapsed_s'] / 60:.1f} min, "
                          f"{left_s / 60:.1f} min left")

        def save():
            self.checkpoint()
            self.preview()
        return checkpoint.run(self, lambda: float(self._step_fn(*self.batch())), report, every=20, on_checkpoint=save)

    def preview(self):
        """Four training crops: grey | automatic | 8 hints | truth, as preview.jpg."""
        import cv2

        from engine.runtime.color import from_lab
        rng = np.random.default_rng(1)
        rows = []
        for i in range(min(4, len(self.ab))):
            lightness, ab = self.lightness[i:i + 1], self.ab[i:i + 1]
            cells = []
            for hints in (np.zeros(ab.shape[:3] + (3,), np.float32), simulate_hints(ab, rng, 0.0)):
                out = np.asarray(self.model({"lightness": lightness, "hints": hints}, training=False))[0]
                big = cv2.resize(out, (ab.shape[2], ab.shape[1]), interpolation=cv2.INTER_LINEAR)
                cells.append(from_lab(lightness[0, ..., 0] * 100, big * AB_SCALE))
            grey = np.repeat((lightness[0] * 255).astype(np.uint8), 3, axis=-1)
            rows.append(np.concatenate([grey, *cells, from_lab(lightness[0, ..., 0] * 100, ab[0] * AB_SCALE)], 1))
        cv2.imwrite(str(self.settings.out_dir / "preview.jpg"), np.concatenate(rows, 0)[..., ::-1])


def write_artifacts(trainer: Trainer, size: int = 256) -> dict:
    """colorize.keras, colorize_int8.tflite, colorize_fp16.tflite and the card
    colorize.json in the run folder (copy them into models/colorize/ to ship)."""
    from models.colorize.export import export
    from models.colorize.network import gflops

    out = trainer.settings.out_dir
    trainer.model.save(out / "colorize.keras")
    started = time.monotonic()
    paths = export(trainer.model, out, size=size)
    for other in (192, 320):             # the node's other processing resolutions (sibling files)
        paths[f"int8_{other}"] = export(trainer.model, out, size=other, suffix=f"_{other}", float16=False)["int8"]
    card = {
        "model": "tensorstage colorization network (lightness + hints -> ab at 1/4 size)",
        "input": f"lightness {size}x{size}x1 (L/100) and hint planes {size}x{size}x3 (a/110, b/110, mask); "
                 f"output ab {size // 4}x{size // 4}x2 in -1..1 (x110)",
        "gflops_at_256": round(gflops(trainer.model), 3),
        "widths": list(trainer.settings.widths),
        "parameters": int(trainer.model.count_params()),
        "training": {
            "data": f"random {trainer.settings.crop} px crops (a third to all of the short side, flipped) "
                    f"cut at each step from the manifest's {trainer.state['photos']} train-split photos "
                    f"(trainable licences only) at {trainer.settings.photo_side} px",
            "hints": f"none {int(NO_HINTS * 100)} % of the time, else a geometric number (mean "
                     f"{trainer.settings.mean_hints:g}) of 1-9 px squares of the true mean colour"
                     + (f"; {trainer.settings.hint_hue_jitter:.0%} of hinted crops turned to a random hue"
                        if trainer.settings.hint_hue_jitter else ""),
            "loss": f"{'Huber' if trainer.settings.loss == 'huber' else 'squared error'} on ab at 1/4 size, "
                    + ("unweighted" if trainer.settings.rebalance >= 1 else
                       f"class-rebalanced over {BINS}x{BINS} ab bins (rebalance {trainer.settings.rebalance})")
                    + f"; AdamW, weight decay {trainer.settings.weight_decay}",
            "steps": trainer.state["step"], "batch": trainer.settings.batch,
            "minutes": round(trainer.state["elapsed_s"] / 60, 1), "final_loss": trainer.state["loss"],
            "machine": f"{trainer.settings.threads} thread(s) of a 2-core CPU" if trainer.settings.threads
                       else "2 CPU cores",
        },
        "quantization": "int8 weights with dynamic-range activations (float in and out), as the style "
                        "model; float16 alongside",
        "export_seconds": round(time.monotonic() - started, 1),
        "files": {k: p.name for k, p in paths.items()},
    }
    (out / "colorize.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(settings: Settings) -> int:
    from models.common import data
    try:
        trainer = Trainer(settings)
    except data.DataError as error:
        print(f"tensorstage train colorize: {error}; run `tensorstage data prepare` first", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"tensorstage train colorize: {error}", file=sys.stderr)
        return 1
    state = trainer.run()
    card = write_artifacts(trainer)
    print(f"colorize: {state['step']} steps in {state['elapsed_s'] / 60:.1f} min; wrote "
          + ", ".join(card["files"].values()) + f" and colorize.json in {settings.out_dir}")
    return 0
