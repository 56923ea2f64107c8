"""`tensorstage eval style`: the shipped style model against the teacher, on
held-out photos only.

- style distance (Gram, EfficientNet-Lite0 style layers) to the style image and
  content distance (content layer) to the photo, per style, for the model and
  for the teacher on the same photos; the ratios are the targets
  (style <= 1.5x the teacher's, content <= 1.2x);
- temporal error (flow-warped, exact motion) on synthetic pans and zooms of the
  held-out photos and on a still shot with sensor noise: for the teacher (a
  per-frame network with no stabilisation), for the model alone, and for the
  model with the engine's run-time stabiliser;
- frames to settle after a cut, with the stabiliser on.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZE = 256


def held_out_photos(size: int = SIZE, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    from models.common.data import held_out_photos as photos
    return photos(size, limit)


def _features(images_float):
    from models.common.features import CONTENT_LAYERS, STYLE_LAYERS, feature_extractor

    outs = feature_extractor(STYLE_LAYERS + CONTENT_LAYERS).predict(images_float, verbose=0, batch_size=4)
    return outs[:len(STYLE_LAYERS)], outs[len(STYLE_LAYERS):]


def run(model_path: Path | None = None, limit: int | None = None, frames: int = 8,
        progress=print) -> dict:
    import cv2

    from engine.processors.style import SHIPPED
    from engine.runtime.models import style_names
    from engine.runtime.stabilizer import DEFAULT_STABILIZE, Stabilizer
    from models.common import metrics
    from models.common.teacher import Teacher, center_square
    from engine.runtime.litert import LiteRTStyleModel as StyleModel
    from models.style.train import load_style

    started = time.monotonic()
    model_path = Path(model_path or SHIPPED.with_name("style_int8.tflite"))
    model = StyleModel(model_path, threads=2)
    card = json.loads(model_path.with_name("style.json").read_text()) if \
        model_path.with_name("style.json").exists() else {"styles": []}
    names = style_names(model_path) or [f"style{i + 1}" for i in range(model.num_styles)]
    ids, photos = held_out_photos(model.size, limit)
    progress(f"eval style: {len(ids)} held-out photos, {len(names)} styles, {model_path.name}")
    teacher = Teacher(threads=2)
    photo_f = photos.astype(np.float32) / 255
    _, photo_content = _features(photo_f)
    figures: dict = {"model": model_path.name, "photos": len(ids)}
    for s, name in enumerate(names):
        source = card["styles"][s].get("spec") if s < len(card["styles"]) else None
        style = load_style(source) if source else None
        onehot = np.eye(model.num_styles, dtype=np.float32)[s]
        ours = np.stack([model(p, onehot) for p in photos]).astype(np.float32) / 255
        theirs = teacher.stylize(photos, teacher.style_vector(style.image)) if style else None
        style_img = cv2.resize(center_square(style.image), (model.size, model.size),
                               interpolation=cv2.INTER_AREA)[None].astype(np.float32) / 255
        style_feats, _ = _features(style_img)
        grams = [metrics.gram(f)[0] for f in style_feats]
        ours_style, ours_content = _features(ours)
        t_style, t_content = _features(theirs)
        d = {
            "style_distance": float(metrics.style_distance(ours_style, grams).mean()),
            "style_distance_teacher": float(metrics.style_distance(t_style, grams).mean()),
            "content_distance": float(metrics.content_distance(ours_content, photo_content).mean()),
            "content_distance_teacher": float(metrics.content_distance(t_content, photo_content).mean()),
            "psnr_to_teacher_db": float(np.mean([metrics.psnr(a, b) for a, b in zip(ours, theirs)])),
        }
        d["style_ratio"] = d["style_distance"] / d["style_distance_teacher"]
        d["content_ratio"] = d["content_distance"] / d["content_distance_teacher"]
        for key, value in d.items():
            figures[f"{name}_{key}"] = value
        progress(f"eval style: {name}: style x{d['style_ratio']:.2f}, content x{d['content_ratio']:.2f} "
                 f"of the teacher ({time.monotonic() - started:.0f} s)")

    # Temporal error: pans, zooms and a still noisy shot, first style.
    onehot = np.eye(model.num_styles, dtype=np.float32)[0]
    style0 = load_style(card["styles"][0]["spec"]) if card["styles"] else None
    vector = teacher.style_vector(style0.image) if style0 else None
    rng = np.random.default_rng(0)
    moves = {"pan": {"pan_px": 2.0}, "zoom": {"zoom": 1.01}}
    errors = {"teacher": [], "model": [], "model_stabilized": []}
    still = {"teacher": [], "model": [], "model_stabilized": []}
    for photo in photos[: max(1, min(4, len(photos)))]:
        sequences = [(metrics.camera_move(photo, frames, size=model.size, **m), errors) for m in moves.values()]
        base = photo.astype(np.float32) / 255
        noisy = np.clip(base[None] + rng.normal(0, 3 / 255, (frames,) + base.shape), 0, 1).astype(np.float32)
        identity = [np.array([[1.0, 0, 0], [0, 1.0, 0]])] * (frames - 1)
        sequences.append(((noisy, identity), still))
        for (clip, maps), bucket in sequences:
            clip8 = (clip * 255 + 0.5).astype(np.uint8)
            plain = np.stack([model(f, onehot) for f in clip8])
            stabilizer = Stabilizer()
            steady = [stabilizer(f, out, DEFAULT_STABILIZE) for f, out in zip(clip8, plain)]
            bucket["model"].append(metrics.temporal_error(plain / 255.0, maps))
            bucket["model_stabilized"].append(metrics.temporal_error(np.stack(steady) / 255.0, maps))
            if vector is not None:
                bucket["teacher"].append(metrics.temporal_error(teacher.stylize(clip, vector), maps))
    for label, bucket in (("moving", errors), ("still_noise", still)):
        for who, values in bucket.items():
            if values:
                figures[f"temporal_error_{label}_{who}"] = float(np.mean(values))
        if bucket["teacher"]:
            figures[f"temporal_ratio_{label}"] = (figures[f"temporal_error_{label}_model_stabilized"]
                                                  / figures[f"temporal_error_{label}_teacher"])

    # Settle after a cut: shot A, then shot B held still, stabiliser on.
    a, b = photos[0], photos[-1] if len(photos) > 1 else photos[0][::-1]
    shots = [a] * 4 + [b] * 8
    stabilizer = Stabilizer()
    outs = [stabilizer(f, model(f, onehot), DEFAULT_STABILIZE) / 255.0 for f in shots]
    figures["frames_to_settle_after_cut"] = metrics.frames_to_settle(np.stack(outs), 4, tolerance=0.01)
    figures["seconds"] = time.monotonic() - started
    return figures


def table(figures: dict) -> str:
    lines = [f"eval style: {figures['model']} on {figures['photos']} held-out photos", ""]
    names = sorted({k[: -len("_style_ratio")] for k in figures if k.endswith("_style_ratio")})
    lines.append(f"{'style':<28}{'style dist':>12}{'teacher':>10}{'ratio':>7}"
                 f"{'content':>10}{'teacher':>10}{'ratio':>7}{'PSNR':>7}")
    for n in names:
        f = lambda k: figures[f"{n}_{k}"]  # noqa: E731
        lines.append(f"{n:<28}{f('style_distance'):>12.3f}{f('style_distance_teacher'):>10.3f}"
                     f"{f('style_ratio'):>7.2f}{f('content_distance'):>10.3f}"
                     f"{f('content_distance_teacher'):>10.3f}{f('content_ratio'):>7.2f}"
                     f"{f('psnr_to_teacher_db'):>7.1f}")
    lines.append("")
    for label in ("moving", "still_noise"):
        parts = [f"{who} {figures[k]:.4f}" for who in ("teacher", "model", "model_stabilized")
                 if (k := f"temporal_error_{label}_{who}") in figures]
        lines.append(f"temporal error, {label.replace('_', ' ')}: " + ", ".join(parts))
    lines.append(f"frames to settle after a cut: {figures['frames_to_settle_after_cut']}")
    lines.append(f"({figures['seconds']:.0f} s)")
    return "\n".join(lines)


def main(model_path=None, json_path=None, limit=None) -> int:
    figures = run(model_path, limit)
    print(table(figures))
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def contact_sheet(path: Path, model_path: Path | None = None, photo_ids=("scikit-image/chelsea.png",
                                                                           "opencv-doc/home.jpg"),
                  size: int = 256) -> Path:
    """Held-out photos beside their paintings in each style and a two-style
    blend: the README's picture."""
    import cv2

    from engine.processors.style import SHIPPED
    from engine.runtime.models import style_names
    from models.common import data
    from models.common.teacher import center_square
    from engine.runtime.litert import LiteRTStyleModel as StyleModel

    model_path = Path(model_path or SHIPPED.with_name("style_int8.tflite"))
    model = StyleModel(model_path, threads=2)
    names = style_names(model_path) or [f"style {i + 1}" for i in range(model.num_styles)]
    entries = {e.id: e for e in data.read_manifest()}
    rows = []
    for photo_id in photo_ids:
        entry = entries[photo_id]
        assert entry.split == "test", f"{photo_id} is not held out"
        photo = cv2.resize(center_square(data.load_rgb(data.resolve(entry))), (model.size, model.size),
                           interpolation=cv2.INTER_AREA)
        tiles = [photo] + [model(photo, np.eye(model.num_styles)[s]) for s in range(model.num_styles)]
        blend = np.zeros(model.num_styles); blend[[0, min(2, model.num_styles - 1)]] = 0.5
        tiles.append(model(photo, blend))
        rows.append(np.concatenate([cv2.resize(t, (size, size)) for t in tiles], 1))
    sheet = np.concatenate(rows, 0)
    labels = ["held-out photo"] + names + [f"{names[0]} + {names[min(2, len(names) - 1)]}"]
    for i, label in enumerate(labels):
        cv2.putText(sheet, label[:24], (i * size + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3)
        cv2.putText(sheet, label[:24], (i * size + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
    cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path
