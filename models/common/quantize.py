"""`tensorstage quantize MODEL --mode int8|dynamic|fp16`: a `.keras` image model
(one RGB input, or RGB plus style weights) to LiteRT, with a JSON card: file
size, error against the float model on real frames (relative L2 and PSNR) and
measured speed on one thread.

int8 calibrates on real frames, never random noise: images from
`--calibration DIR`, or the training crops `tensorstage data prepare` cached.
Three quarters of the frames calibrate, the other quarter measures the error.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

MODES = ("int8", "dynamic", "fp16")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class QuantizeError(RuntimeError):
    pass


def calibration_frames(folder: Path | None, size: int, limit: int = 96) -> np.ndarray:
    import cv2

    if folder is not None:
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise QuantizeError(f"{folder}: no images (.jpg, .png, ...) to calibrate with")
        frames = []
        for path in files[:limit]:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                continue
            h, w = image.shape[:2]
            s = min(h, w)
            square = image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
            frames.append(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1])
        if len(frames) < 4:
            raise QuantizeError(f"{folder}: only {len(frames)} readable images; give at least 4")
        return np.stack(frames)
    from models.common import data
    for cached in (size, 256, 128):
        try:
            crops = np.asarray(data.load_crops("train", cached)[:limit])
        except data.DataError:
            continue
        if cached != size:
            crops = np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops])
        return crops
    raise QuantizeError("no calibration frames: give --calibration DIR (real images, never noise), "
                        "or run `tensorstage data prepare` first")


def _inputs(model):
    """The model's input names in call order: ('image',) or ('image', 'style')."""
    if isinstance(model.input, dict):
        if set(model.input) != {"image", "style"}:
            raise QuantizeError(f"inputs {sorted(model.input)}: expected an image, or image and style")
        return ("image", "style"), int(model.input["style"].shape[-1])
    shape = tuple(model.input.shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise QuantizeError(f"input {list(shape)}: an image model takes [batch, height, width, 3]")
    return ("image",), 0


def _feeds(frames: np.ndarray, styles: int, rng: np.random.Generator):
    for frame in frames:
        image = frame[None].astype(np.float32) / 255
        if not styles:
            yield {"image": image}
            continue
        weights = np.zeros((1, styles), np.float32)
        a, b = rng.integers(0, styles, 2)
        t = rng.random()
        weights[0, a] += t
        weights[0, b] += 1 - t
        yield {"image": image, "style": weights}


def quantize(model_path: Path, mode: str, out: Path | None = None, calibration: Path | None = None,
             size: int | None = None, progress=print) -> dict:
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    import models.style.network  # noqa: F401 - registers the style network's layers

    if mode not in MODES:
        raise QuantizeError(f"--mode {mode!r}: choose {', '.join(MODES)}")
    model_path = Path(model_path)
    if model_path.suffix != ".keras" or not model_path.exists():
        raise QuantizeError(f"{model_path}: give an existing .keras model")
    model = keras.models.load_model(model_path, compile=False)
    names, styles = _inputs(model)
    image_shape = model.input["image"].shape if styles else model.input.shape
    size = size or image_shape[1]
    if size is None:
        raise QuantizeError(f"{model_path}: the input size is free; give --size")
    frames = calibration_frames(calibration, size)
    split = max(1, len(frames) // 4)
    measure, calibrate = frames[:split], frames[split:]
    rng = np.random.default_rng(0)

    specs = [tf.TensorSpec((1, size, size, 3), tf.float32, name="image")]
    if styles:
        specs.append(tf.TensorSpec((1, styles), tf.float32, name="style"))

    @tf.function(input_signature=specs)
    def serve(*args):
        return {"output": model(dict(zip(names, args)) if styles else args[0], training=False)}

    function = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        probe = tf.lite.TFLiteConverter.from_concrete_functions([function]).convert()
        from ai_edge_litert.interpreter import Interpreter
        order = ["image" if len(d["shape"]) == 4 else "style" for d in
                 Interpreter(model_content=probe).get_input_details()]
        converter.representative_dataset = lambda: ([feed[n] for n in order]
                                                    for feed in _feeds(calibrate, styles, rng))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    progress(f"quantize: {model_path.name} -> {mode} at {size}x{size}, calibrating on {len(calibrate)} real frames")
    started = time.monotonic()
    flat = converter.convert()
    out = Path(out or model_path.with_name(f"{model_path.stem}_{mode}.tflite"))
    out.write_bytes(flat)
    card = {"source": model_path.name, "mode": mode, "size_px": size, "file_bytes": len(flat),
            "float_params_bytes": int(sum(np.prod(w.shape) * 4 for w in model.weights)),
            "convert_s": round(time.monotonic() - started, 1), "calibration_frames": len(calibrate),
            "calibration_source": str(calibration) if calibration else "cached training crops"}
    card.update(_error_and_speed(out, model, names, styles, measure, rng))
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    progress(f"quantize: wrote {out} ({len(flat) / 1e6:.2f} MB): PSNR {card['psnr_db']:.1f} dB, relative L2 "
             f"{card['relative_l2']:.4f} against float on {card['error_frames']} frames; "
             f"{card['p50_ms']:.1f} ms a frame on one thread")
    return card


def _error_and_speed(path: Path, model, names, styles: int, frames: np.ndarray, rng) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    from engine.runtime.litert import from_tensor, to_tensor
    from models.common.metrics import psnr

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    inputs = {("image" if len(d["shape"]) == 4 else "style"): d for d in interpreter.get_input_details()}
    output = interpreter.get_output_details()[0]

    def run(feed):
        for name, detail in inputs.items():
            interpreter.set_tensor(detail["index"], to_tensor(detail, feed[name]))
        interpreter.invoke()
        return from_tensor(output, interpreter.get_tensor(output["index"]))

    errors, scores, times = [], [], []
    for feed in _feeds(frames, styles, rng):
        reference = np.asarray(model(feed if styles else feed["image"], training=False), np.float32)
        started = time.perf_counter()
        y = run(feed)
        times.append((time.perf_counter() - started) * 1000)
        errors.append(float(np.linalg.norm(y - reference) / max(np.linalg.norm(reference), 1e-9)))
        scores.append(psnr(np.clip(y, 0, 1), np.clip(reference, 0, 1)))
    for _ in range(10):
        started = time.perf_counter()
        run(next(_feeds(frames[:1], styles, rng)))
        times.append((time.perf_counter() - started) * 1000)
    return {"error_frames": len(frames), "relative_l2": float(np.mean(errors)), "psnr_db": float(np.mean(scores)),
            "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def main(model: Path, mode: str, out: Path | None, calibration: Path | None, size: int | None) -> int:
    import sys
    try:
        quantize(model, mode, out, calibration, size)
    except QuantizeError as error:
        print(f"tensorstage quantize: {error}", file=sys.stderr)
        return 1
    return 0
