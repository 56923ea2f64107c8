"""Training the multi-style network by distillation from the Magenta teacher.

Plan for two cores:
- the teacher paints each cached 256 px training crop once per style; inputs and
  targets are cached (`targets_<key>.npz`), keyed by the style images and crops;
- steps train on random 128 px windows of those 256 px pairs (the teacher's stroke
  scale stays that of the 256 px frames the engine feeds);
- loss: L1 to the teacher's painting, plus a stability term: a second window
  shifted by a few pixels, with camera-like noise, must paint the overlapping
  area the same way (live video must not flicker);
- a time budget, checkpoints (weights, optimizer state, step, elapsed time) every
  minute and at the end, resume from the last checkpoint, a preview image.

Only photos of the `train` split are used (never `test`, never `validation`).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CROP = 128
MAX_SHIFT = 8


@dataclass
class Style:
    name: str
    image: np.ndarray        # RGB uint8
    source: str              # where it came from
    licence: str


@dataclass
class Settings:
    out_dir: Path
    time_budget_s: float = 45 * 60
    steps: int | None = None
    batch: int = 6
    crop: int = CROP
    learning_rate: float = 2e-3
    stability_weight: float = 1.0
    checkpoint_every_s: float = 60.0
    crops_per_image: int = 16
    tile: int = 256
    seed: int = 0
    packages: list[str] | None = None
    threads: int | None = None
    extra: dict = field(default_factory=dict)


def load_style(spec: str) -> Style:
    """A style from a file path, a manifest id, or `generated:NAME`."""
    from models.common import data
    from models.style import artwork

    if spec.startswith("generated:"):
        name = spec.split(":", 1)[1]
        if name not in artwork.GENERATED:
            raise ValueError(f"style {spec!r}: generated styles are {', '.join(artwork.GENERATED)}")
        return Style(name, artwork.GENERATED[name](), f"tensorstage models/style/artwork.py:{name}",
                     "Apache-2.0")
    for entry in data.read_manifest():
        if entry.id == spec:
            if entry.split == "test":
                raise ValueError(f"style {spec!r} is a held-out test file and may not be trained on")
            return Style(Path(entry.id).stem, data.load_rgb(data.resolve(entry)), entry.id, entry.licence)
    path = Path(spec)
    if not path.exists():
        raise ValueError(f"style {spec!r}: no such file, manifest id or generated style")
    return Style(path.stem, data.load_rgb(path), str(path), "user-supplied")


def _key(styles, crops: np.ndarray) -> str:
    h = hashlib.sha256()
    for s in styles:
        h.update(s.name.encode())
        h.update(np.ascontiguousarray(s.image[::7, ::7]).tobytes())
    h.update(np.ascontiguousarray(crops[:, ::16, ::16]).tobytes())
    return h.hexdigest()[:16]


def teacher_targets(styles, settings: Settings, progress=print):
    """(inputs (N, T, T, 3) uint8, targets (S, N, T, T, 3) uint8), cached."""
    from models.common import data
    from models.common.teacher import Teacher

    try:
        crops = data.load_crops("train", settings.tile)
    except data.DataError:
        progress("style: caching training crops first")
        data.prepare((settings.tile,), settings.crops_per_image, packages=settings.packages,
                     progress=lambda _: None)
        crops = data.load_crops("train", settings.tile)
    crops = np.asarray(crops)
    cache = data.cache_dir() / f"style_targets_{_key(styles, crops)}.npz"
    if cache.exists():
        cached = np.load(cache)
        return cached["inputs"], cached["targets"]
    teacher = Teacher(threads=settings.threads or os.cpu_count() or 2)
    targets = np.empty((len(styles),) + crops.shape, np.uint8)
    started = time.monotonic()
    for s, style in enumerate(styles):
        vector = teacher.style_vector(style.image)
        for i in range(0, len(crops), 8):
            painted = teacher.stylize(crops[i:i + 8], vector)
            targets[s, i:i + 8] = np.clip(painted * 255 + 0.5, 0, 255).astype(np.uint8)
            progress(f"style: teacher {style.name} {min(i + 8, len(crops))}/{len(crops)} "
                     f"({time.monotonic() - started:.0f} s)")
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, inputs=crops, targets=targets)
    os.replace(tmp, cache)
    return crops, targets


class Trainer:
    def __init__(self, styles, settings: Settings, progress=print):
        import keras
        import tensorflow as tf

        from models.style import network

        self.tf, self.keras = tf, keras
        self.styles, self.settings, self.progress = styles, settings, progress
        if settings.threads:
            tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        self.inputs, self.targets = teacher_targets(styles, settings, progress)
        self.model = network.build(len(styles))
        self.optimizer = keras.optimizers.Adam(settings.learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self.state = {"step": 0, "elapsed_s": 0.0, "styles": [s.name for s in styles], "loss": None}
        self.rng = np.random.default_rng(settings.seed)
        self._step_fn = tf.function(self._train_step, reduce_retracing=True)
        self._resume()

    # ---- checkpoints ----------------------------------------------------------
    @property
    def _paths(self):
        d = self.settings.out_dir
        return d / "checkpoint.weights.h5", d / "checkpoint_optimizer.npz", d / "checkpoint.json"

    def _resume(self):
        weights, optimizer, state = self._paths
        if not state.exists():
            return
        saved = json.loads(state.read_text())
        if saved.get("styles") != self.state["styles"]:
            raise ValueError(f"{state}: the checkpoint was trained on styles {saved.get('styles')}, "
                             f"not {self.state['styles']}; use another --out folder")
        self.model.load_weights(weights)
        with np.load(optimizer) as values:
            for variable, key in zip(self.optimizer.variables, sorted(values.files, key=int)):
                variable.assign(values[key])
        self.state = saved
        self.rng = np.random.default_rng([self.settings.seed, saved["step"]])
        self.progress(f"style: resumed at step {saved['step']} ({saved['elapsed_s'] / 60:.1f} min trained)")

    def checkpoint(self):
        weights, optimizer, state = self._paths
        self.model.save_weights(weights)
        np.savez(optimizer.with_suffix(".tmp.npz"),
                 **{str(i): v.numpy() for i, v in enumerate(self.optimizer.variables)})
        os.replace(optimizer.with_suffix(".tmp.npz"), optimizer)
        state.write_text(json.dumps(self.state, indent=1))

    # ---- one step -------------------------------------------------------------
    def _train_step(self, x1, x2, target, weights, dy, dx):
        tf = self.tf
        crop = self.settings.crop
        with tf.GradientTape() as tape:
            y1 = self.model({"image": x1, "style": weights}, training=True)
            y2 = self.model({"image": x2, "style": weights}, training=True)
            distill = tf.reduce_mean(tf.abs(y1 - target))
            # x2 is x1's window moved by (dy, dx): compare the shared area.
            a = y1[:, dy:, dx:, :]
            b = y2[:, :crop - dy, :crop - dx, :]
            stability = tf.reduce_mean(tf.abs(a - b))
            loss = distill + self.settings.stability_weight * stability
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss, distill, stability

    def _batch(self):
        s = self.settings
        n, tile = self.inputs.shape[0], self.inputs.shape[1]
        idx = self.rng.integers(0, n, s.batch)
        style = self.rng.integers(0, len(self.styles), s.batch)
        dy, dx = (int(v) for v in self.rng.integers(1, MAX_SHIFT + 1, 2))
        y = int(self.rng.integers(0, tile - s.crop - dy + 1))
        x = int(self.rng.integers(0, tile - s.crop - dx + 1))
        x1 = self.inputs[idx, y:y + s.crop, x:x + s.crop].astype(np.float32) / 255
        x2 = self.inputs[idx, y + dy:y + dy + s.crop, x + dx:x + dx + s.crop].astype(np.float32) / 255
        x2 = x2 * self.rng.uniform(0.95, 1.05, (s.batch, 1, 1, 1)) + self.rng.normal(0, 0.015, x2.shape)
        target = self.targets[style, idx, y:y + s.crop, x:x + s.crop].astype(np.float32) / 255
        weights = np.eye(len(self.styles), dtype=np.float32)[style]
        return x1, np.clip(x2, 0, 1).astype(np.float32), target, weights, dy, dx

    def run(self):
        s = self.settings
        started = time.monotonic() - self.state["elapsed_s"]
        last_checkpoint = time.monotonic()
        losses = []
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= s.time_budget_s or (s.steps is not None and self.state["step"] >= s.steps):
                break
            x1, x2, target, weights, dy, dx = self._batch()
            loss, distill, stability = self._step_fn(x1, x2, target, weights, self.tf.constant(dy),
                                                     self.tf.constant(dx))
            losses.append((float(loss), float(distill), float(stability)))
            self.state["step"] += 1
            self.state["elapsed_s"] = time.monotonic() - started
            if self.state["step"] % 20 == 0:
                mean = np.mean(losses[-20:], axis=0)
                self.state["loss"] = {"total": float(mean[0]), "distill_l1": float(mean[1]),
                                      "stability_l1": float(mean[2])}
                remaining = max(0.0, s.time_budget_s - self.state["elapsed_s"])
                self.progress(f"style: step {self.state['step']} loss {mean[0]:.4f} "
                              f"(teacher L1 {mean[1]:.4f}, stability {mean[2]:.4f}) "
                              f"{self.state['elapsed_s'] / 60:.1f} min, {remaining / 60:.1f} min left")
            if time.monotonic() - last_checkpoint >= s.checkpoint_every_s:
                self.checkpoint()
                self.preview()
                last_checkpoint = time.monotonic()
        self.checkpoint()
        self.preview()
        return self.state

    def preview(self):
        """First validation-free check a person can look at: one training crop
        per style, input | teacher | student, written as preview.jpg."""
        import cv2

        x = self.inputs[:1].astype(np.float32) / 255
        rows = []
        for s in range(len(self.styles)):
            w = np.eye(len(self.styles), dtype=np.float32)[s:s + 1]
            y = np.asarray(self.model({"image": x, "style": w}, training=False))
            rows.append(np.concatenate([x[0], self.targets[s, 0] / 255, y[0]], 1))
        image = (np.concatenate(rows, 0) * 255).clip(0, 255).astype(np.uint8)
        cv2.imwrite(str(self.settings.out_dir / "preview.jpg"), image[..., ::-1])


def main(style_specs, settings: Settings) -> int:
    try:
        styles = [load_style(spec) for spec in style_specs]
    except ValueError as exc:
        print(f"tensorstage train style: {exc}", file=sys.stderr)
        return 2
    trainer = Trainer(styles, settings)
    state = trainer.run()
    trainer.model.save(settings.out_dir / "style.keras")
    (settings.out_dir / "styles.json").write_text(json.dumps(
        [{"name": s.name, "source": s.source, "licence": s.licence} for s in styles], indent=1))
    print(f"style: {state['step']} steps in {state['elapsed_s'] / 60:.1f} min -> {settings.out_dir / 'style.keras'}")
    return 0
