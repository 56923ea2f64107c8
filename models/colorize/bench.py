"""The colorization family's part of `tensorstage bench models`: the shipped
int8 network at 256x256 on 1 and 2 threads, the whole `colorize` node at
640x480 on one thread (network, luma and the recombination of the colour
with the full-size luma, stabiliser off: the issue's 5 ms target), float16, and the float Keras
model called with `model.predict` and in a `tf.function` (the naive ways);
int8 and float16 PSNR of the colour against float32 on held-out photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.bench.timing import time_calls as _time

HERE = Path(__file__).resolve().parent
TARGET_MS = 5.0


def measure(frames: int, keras: bool, add, figures: dict, progress) -> None:
    from engine.harness import NodeHarness
    from engine.packet import Packet
    from engine.processors.colorize import CONTRACT
    from engine.runtime.litert import LiteRTRunner

    int8, fp16 = HERE / "colorize_int8.tflite", HERE / "colorize_fp16.tflite"
    if not int8.exists():
        return
    rng = np.random.default_rng(0)
    lightness = rng.random((1, 256, 256, 1)).astype(np.float32)
    hints = np.zeros((1, 256, 256, 3), np.float32)
    for path, kind, thread_counts in ((int8, "int8", (1, 2)), (fp16, "fp16", (1,))):
        for threads in thread_counts:
            runner = LiteRTRunner(path, CONTRACT, threads)
            add(f"colorize {kind} 256px", f"colorize_{kind}_256_{threads}t",
                _time(lambda: runner.run(lightness=lightness, hints=hints), frames), threads)
    node = NodeHarness("colorize", options={"path": str(int8), "threads": 1}, name="colorize")
    if node.open():
        node.set_param("stabilize", 0.0, fade_s=0)
        frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        stamp = [0]

        def paint():
            stamp[0] += 1
            node.feed(video=Packet(frame, stamp[0]))

        add("colorize node 640x480 (int8 + recombination)", "colorize_node_640x480_1t", _time(paint, frames), 1)
        figures["colorize_node_meets_5ms_target"] = bool(figures["colorize_node_640x480_1t_p50_ms"] <= TARGET_MS)
        node.close()
    keras_path = HERE / "colorize.keras"
    if keras and keras_path.exists():
        _naive(keras_path, int8, fp16, frames, add, figures, progress)


def _naive(keras_path: Path, int8: Path, fp16: Path, frames: int, add, figures: dict, progress) -> None:
    import keras
    import tensorflow as tf

    import engine.runtime.layers  # noqa: F401 - the shipped .keras is made of them
    from engine.processors.colorize import CONTRACT
    from engine.runtime.color import to_lab
    from engine.runtime.litert import LiteRTRunner
    from models.common.data import held_out_photos
    from models.common.metrics import psnr

    net = keras.models.load_model(keras_path, compile=False)
    x = {"lightness": np.random.default_rng(0).random((1, 256, 256, 1)).astype(np.float32),
         "hints": np.zeros((1, 256, 256, 3), np.float32)}
    add("colorize Keras fp32 256px, model.predict", "colorize_keras_predict_256_1t",
        _time(lambda: net.predict(x, verbose=0), max(10, frames // 5)), 1)
    run = tf.function(lambda inputs: net(inputs, training=False))
    tensors = {k: tf.constant(v) for k, v in x.items()}
    add("colorize Keras fp32 256px, tf.function", "colorize_keras_tf_function_256_1t",
        _time(lambda: run(tensors).numpy(), max(10, frames // 4)), 1)
    for key in ("colorize_int8_256_1t", "colorize_fp16_256_1t"):
        figures[f"{key}_speedup_vs_predict"] = (figures["colorize_keras_predict_256_1t_p50_ms"]
                                                / figures[f"{key}_p50_ms"])
        figures[f"{key}_speedup_vs_tf_function"] = (figures["colorize_keras_tf_function_256_1t_p50_ms"]
                                                    / figures[f"{key}_p50_ms"])
    try:
        _, photos = held_out_photos(256, limit=5)
    except Exception as error:  # noqa: BLE001 - photos come from optional packages
        progress(f"bench models: no held-out photos for the colorize PSNR check ({error})")
        return
    runners = {"int8": LiteRTRunner(int8, CONTRACT, 2), "fp16": LiteRTRunner(fp16, CONTRACT, 2)}
    scores: dict[str, list[float]] = {k: [] for k in runners}
    for photo in photos:
        lightness = (to_lab(photo)[..., :1] / 100.0)[None].astype(np.float32)
        inputs = {"lightness": lightness, "hints": np.zeros((1, 256, 256, 3), np.float32)}
        reference = (np.asarray(run({k: tf.constant(v) for k, v in inputs.items()}))[0] + 1) / 2
        for kind, runner in runners.items():
            scores[kind].append(psnr((runner.run(**inputs)["ab"][0] + 1) / 2, reference))
    for kind, values in scores.items():
        figures[f"colorize_psnr_{kind}_vs_fp32_db"] = float(np.mean(values))
    progress(f"bench models: colorize PSNR of a and b against float32 on {len(photos)} held-out photos: "
             f"int8 {figures['colorize_psnr_int8_vs_fp32_db']:.1f} dB, float16 {figures['colorize_psnr_fp16_vs_fp32_db']:.1f} dB")
