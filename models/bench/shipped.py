"""`tensorstage bench models`: inference time of the shipped models, per frame,
on a fixed number of threads, and how the int8 models compare with the naive
ways of running the same network. Each family with a `bench.py` (a
`measure(frames, keras, add, figures, progress)` and optionally a
`measure_swap(progress)`) adds its rows; the stand-in conv net is measured here.
Ratios: `*_speedup_vs_predict` (against the float Keras model called with
`model.predict` per frame, as a first tutorial does) and
`*_speedup_vs_tf_function` (against the float model in a `tf.function`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from engine.bench.report import print_table, write_json
from models.bench.timing import time_calls as _time

CONVNET = Path(__file__).resolve().parent / "convnet_int8.tflite"


def family_benches() -> list:
    from models.commands import families
    found = []
    for family in families():
        package = family.__name__.rsplit(".", 1)[0]
        if (Path(importlib.import_module(package).__path__[0]) / "bench.py").exists():
            found.append(importlib.import_module(f"{package}.bench"))
    return found


def measure(frames: int = 200, keras: bool = True, progress=print) -> tuple[list[dict], dict]:
    rng = np.random.default_rng(0)
    rows: list[dict] = []
    figures: dict = {}

    def add(name, key, result, threads):
        rows.append({"model": name, "threads": threads, **result})
        for k, v in result.items():
            figures[f"{key}_{k}"] = v
        progress(f"bench models: {name}, {threads} thread(s): p50 {result['p50_ms']:.1f} ms, "
                 f"p95 {result['p95_ms']:.1f} ms, {result['fps']:.0f} fps")

    if keras:
        # The naive float models on one thread, set once: TensorFlow takes it only before its first use.
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    for bench in family_benches():
        bench.measure(frames, keras, add, figures, progress)
    if CONVNET.exists():
        from engine.runtime.litert import LiteRTModel

        for threads in (1, 2):
            model = LiteRTModel(CONVNET, threads=threads)
            h, w = model.expect_image()
            frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            add(f"stand-in convnet int8 {w}px (4.3 GFLOP)", f"convnet_int8_{w}_{threads}t",
                _time(lambda: model.run_image(frame), max(20, frames // 4)), threads)
    return rows, figures


def main(frames: int, json_path: Path | None, keras: bool = True) -> int:
    rows, figures = measure(frames, keras)
    for bench in family_benches():
        if hasattr(bench, "measure_swap"):
            figures.update(bench.measure_swap())
    if not rows:
        print("bench models: no models found (models/style/*.tflite)")
        return 1
    print()
    print_table("bench models: per-frame inference", rows,
                [("model", "model", "{}"), ("threads", "threads", "{}"), ("p50 ms", "p50_ms", "{:.1f}"),
                 ("p95 ms", "p95_ms", "{:.1f}"), ("fps", "fps", "{:.0f}")])
    for key in sorted(k for k in figures if "_256_1t_speedup_vs_" in k):
        print(f"{key}: {figures[key]:.1f}x")
    for key in sorted(k for k in figures if "psnr_" in k and k.endswith("_db")):
        print(f"{key.replace('_', ' ').replace(' db', '')}: {figures[key]:.1f} dB (held-out photos)")
    if "swap_max_gap_ms" in figures:
        print(f"live swap: longest gap {figures['swap_max_gap_ms']:.1f} ms (two frame intervals: 66.7 ms), "
              f"fps during {100 * figures['swap_fps_ratio']:.0f} % of before (target >= 80 %)")
    if "style_int8_meets_target" in figures:
        print(f"target (int8, 1 thread, >= 30 fps and p95 <= 33 ms): "
              f"{'met' if figures['style_int8_meets_target'] else 'NOT met'}")
    if "colorize_node_meets_5ms_target" in figures:
        print(f"colorize target (the node at 640x480, int8 on one thread, p50 <= 5 ms): "
              f"{'met' if figures['colorize_node_meets_5ms_target'] else 'NOT met'} "
              f"({figures['colorize_node_640x480_1t_p50_ms']:.1f} ms)")
    write_json(json_path, figures)
    return 0
