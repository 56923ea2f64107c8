"""The style family's part of `tensorstage bench models`: the shipped model at
each processing resolution on 1 and 2 threads, against the float Keras model
called with `model.predict` and in a `tf.function`, int8/float16 PSNR against
float32 on held-out photos, and a live swap in a running patch.

The target: int8 at 256x256 on ONE thread >= 30 fps, p95 <= 33 ms.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from models.bench.timing import time_calls as _time

STYLE_DIR = Path(__file__).resolve().parent


def _fidelity(net, int8: Path, fp16: Path, progress) -> dict:
    """PSNR of the int8 and float16 LiteRT models against Keras float32 on
    held-out photos (style 1 and an even blend of all styles)."""
    from models.common.metrics import psnr
    from models.style.eval import held_out_photos
    from engine.runtime.litert import LiteRTStyleModel as StyleModel

    try:
        _, photos = held_out_photos(256, limit=5)
    except Exception as error:  # noqa: BLE001 - photos come from optional packages
        progress(f"bench models: no held-out photos for the PSNR check ({error})")
        return {}
    quantized, half = StyleModel(int8, threads=2), StyleModel(fp16, threads=2)
    styles = net.inputs[1].shape[-1]
    scores: dict[str, list[float]] = {"int8": [], "fp16": []}
    for photo in photos:
        for weights in (np.eye(styles, dtype=np.float32)[0], np.full(styles, 1 / styles, np.float32)):
            reference = np.asarray(net({"image": photo[None].astype(np.float32) / 255,
                                        "style": weights[None]}, training=False))[0]
            scores["int8"].append(psnr(quantized(photo, weights) / 255.0, reference))
            scores["fp16"].append(psnr(half(photo, weights) / 255.0, reference))
    result = {f"psnr_{k}_vs_fp32_db": float(np.mean(v)) for k, v in scores.items()}
    progress(f"bench models: PSNR against float32 on {len(photos)} held-out photos: "
             f"int8 {result['psnr_int8_vs_fp32_db']:.1f} dB, float16 {result['psnr_fp16_vs_fp32_db']:.1f} dB")
    return result


def measure(frames: int, keras: bool, add, figures: dict, progress) -> None:
    from engine.runtime.litert import LiteRTStyleModel as StyleModel

    rng = np.random.default_rng(0)
    # The shipped style model at each processing resolution, 1 and 2 threads.
    int8, fp16 = STYLE_DIR / "style_int8.tflite", STYLE_DIR / "style_fp16.tflite"
    for size, path in ((256, int8), (192, STYLE_DIR / "style_int8_192.tflite"),
                       (320, STYLE_DIR / "style_int8_320.tflite")):
        if not path.exists():
            continue
        for threads in (1, 2):
            model = StyleModel(path, threads=threads)
            frame = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            weights = np.eye(model.num_styles)[0]
            add(f"style int8 {size}px", f"style_int8_{size}_{threads}t",
                _time(lambda: model(frame, weights), frames), threads)
    if int8.exists():
        figures["style_int8_meets_target"] = bool(figures["style_int8_256_1t_fps"] >= 30
                                                  and figures["style_int8_256_1t_p95_ms"] <= 33)
    if fp16.exists():
        model = StyleModel(fp16, threads=1)
        frame = rng.integers(0, 255, (model.size, model.size, 3), dtype=np.uint8)
        add(f"style fp16 {model.size}px", "style_fp16_256_1t",
            _time(lambda: model(frame, np.eye(model.num_styles)[0]), frames), 1)
    keras_path = STYLE_DIR / "style.keras"
    if keras and keras_path.exists():
        import tensorflow as tf

        import keras as keras_module

        import models.style.network  # noqa: F401 - registers ConditionalInstanceNorm for loading

        net = keras_module.models.load_model(keras_path)
        x = {"image": rng.random((1, 256, 256, 3)).astype(np.float32),
             "style": np.eye(net.inputs[1].shape[-1], dtype=np.float32)[:1]}
        # The two naive ways: model.predict per frame (a first tutorial's loop)
        # and the float model in a tf.function.
        add("style Keras fp32 256px, model.predict", "style_keras_predict_256_1t",
            _time(lambda: net.predict(x, verbose=0), max(20, frames // 5)), 1)
        run = tf.function(lambda inputs: net(inputs, training=False))
        tensors = {k: tf.constant(v) for k, v in x.items()}
        add("style Keras fp32 256px, tf.function", "style_keras_tf_function_256_1t",
            _time(lambda: run(tensors).numpy(), max(20, frames // 4)), 1)
        for key in [k[: -len("_p50_ms")] for k in list(figures) if k.startswith("style_int8_256_")
                    and k.endswith("_p50_ms")] + ["style_fp16_256_1t"]:
            if f"{key}_p50_ms" in figures:
                figures[f"{key}_speedup_vs_predict"] = (figures["style_keras_predict_256_1t_p50_ms"]
                                                        / figures[f"{key}_p50_ms"])
                figures[f"{key}_speedup_vs_tf_function"] = (figures["style_keras_tf_function_256_1t_p50_ms"]
                                                            / figures[f"{key}_p50_ms"])
        figures.update(_fidelity(net, int8, fp16, progress))


SWAP_PATCH = """
[nodes.pattern]
type = "test_pattern"
width = 640
height = 480

[nodes.style]
type = "style"
path = "{path}"
threads = 1
inputs.video = "pattern.video"
"""


def measure_swap(progress=print) -> dict:
    """A live model swap in a running patch (640x480 at 30 fps -> style, one
    thread): the int8 model is swapped for the float16 one while frames flow.
    Gaps are measured where the frames leave the style node."""
    from engine.clock import now_us
    from engine.events import EventLog
    from engine.graph import Engine
    from engine.patch import parse_patch

    int8, fp16 = STYLE_DIR / "style_int8.tflite", STYLE_DIR / "style_fp16.tflite"
    if not (int8.exists() and fp16.exists()):
        return {}
    arrivals: list[int] = []

    class Arrivals:
        def put(self, packet) -> None:
            arrivals.append(now_us())

    engine = Engine(parse_patch(SWAP_PATCH.format(path=int8), "<bench swap>"), events=EventLog())
    engine.taps = lambda patch: {("style", "video"): [Arrivals()]}

    def run(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            engine.step(0.005)

    engine.start()
    try:
        run(3.0)
        first = engine.runners["style"].node
        requested = now_us()
        engine.change_option("style", "path", str(fp16))
        run(10.0, until=lambda: engine.runners["style"].node is not first)
        swapped = now_us()
        run(1.5)
        ended = now_us()
    finally:
        engine.stop()
    times = np.array(arrivals)
    before = times[(times >= requested - 2_000_000) & (times < requested)]
    during = times[(times >= requested) & (times < ended)]
    window = times[times >= requested - 2_000_000]
    gaps = np.diff(window) / 1000
    result = {
        "swap_load_ms": (swapped - requested) / 1000,
        "swap_fps_before": len(before) / 2.0,
        "swap_fps_during": len(during) / ((ended - requested) / 1e6),
        "swap_max_gap_ms": float(gaps.max()) if len(gaps) else None,
        "swap_frame_interval_ms": 1000 / 30,
    }
    result["swap_fps_ratio"] = result["swap_fps_during"] / max(result["swap_fps_before"], 1e-9)
    progress(f"bench models: swap int8 -> fp16 in a running patch: loaded beside it in "
             f"{result['swap_load_ms']:.0f} ms; fps {result['swap_fps_before']:.1f} before, "
             f"{result['swap_fps_during']:.1f} during ({100 * result['swap_fps_ratio']:.0f} %); "
             f"longest gap {result['swap_max_gap_ms']:.1f} ms")
    return result
