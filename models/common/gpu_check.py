"""The command line the families' GPU checks share (models/<family>/gpu_check.py):
`--model`, `--frames`, `--float32`, `--json`; prints the figures and writes
them as flat JSON. Imports nothing heavy: on a lent GPU machine only keras,
jax, numpy and h5py are there."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Callable


def run_check(description: str, default_model: Path, measure: Callable[[Path, int, bool], dict],
              argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", type=Path, default=default_model)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--float32", action="store_true", help="measure float32 instead of float16")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    if os.environ.get("KERAS_BACKEND") != "jax":
        print("note: KERAS_BACKEND is not jax; measuring with", os.environ.get("KERAS_BACKEND", "tensorflow"))
    figures = measure(args.model, args.frames, not args.float32)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def rebuilt(source, build, float16: bool) -> tuple:
    """(`build()` with `source`'s weights, in mixed float16 when asked, and the
    figures every check starts with: backend, float16, and the device under JAX)."""
    import keras

    figures = {"backend": keras.backend.backend(), "float16": float16}
    if keras.backend.backend() == "jax":
        import jax
        figures["device"] = str(jax.devices()[0])
    if float16:
        keras.config.set_dtype_policy("mixed_float16")
    net = build()
    net.set_weights(source.get_weights())
    keras.config.set_dtype_policy("float32")
    return net, figures


def time_batch(net, x, repeats: int) -> tuple:
    """(`net`'s float32 output for the batch `x`, the first call's seconds (it
    compiles), the p50 ms of `repeats` more calls)."""
    import time

    import numpy as np

    started = time.perf_counter()
    out = np.asarray(net.predict_on_batch(x), np.float32)
    compile_s = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        out = np.asarray(net.predict_on_batch(x), np.float32)
        times.append((time.perf_counter() - started) * 1000)
    return out, compile_s, float(np.percentile(times, 50))


def time_sizes(run, net, source, batches: dict, frames: int, figures: dict, scale: float = 1.0) -> dict:
    """For each size (label -> input batch): compile time, p50/p95 ms and fps of
    `run(net, batch)`, and at "256" the PSNR of `net` (float16) against `source`
    (float32), the outputs times `scale` being on a 0..1 range."""
    import time

    import numpy as np

    for label, batch in batches.items():
        started = time.perf_counter()
        out = np.asarray(run(net, batch))                   # compiles for this size
        figures[f"compile_{label}_s"] = time.perf_counter() - started
        times = []
        for _ in range(frames):
            started = time.perf_counter()
            out = np.asarray(run(net, batch))               # numpy out: waits for the device
            times.append((time.perf_counter() - started) * 1000)
        figures[f"p50_{label}_ms"] = float(np.percentile(times, 50))
        figures[f"p95_{label}_ms"] = float(np.percentile(times, 95))
        figures[f"fps_{label}"] = 1000.0 / float(np.mean(times))
        if label == "256":
            reference = np.asarray(run(source, batch), np.float32)
            mse = float(np.mean(((out.astype(np.float32) - reference) * scale) ** 2))
            figures["psnr_float16_vs_float32_256_db"] = 10 * np.log10(1.0 / mse) if mse > 0 else float("inf")
        print(f"{label:>6}: p50 {figures[f'p50_{label}_ms']:.2f} ms, p95 {figures[f'p95_{label}_ms']:.2f} ms, "
              f"{figures[f'fps_{label}']:.0f} fps (compile {figures[f'compile_{label}_s']:.1f} s)", flush=True)
    return figures


def max_probability_error(logits, reference) -> float:
    """The largest absolute difference between the softmax of two sets of
    logits (last axis): float16's next-token error against float32's."""
    import numpy as np

    def probabilities(z):
        z = np.exp(z - z.max(-1, keepdims=True))
        return z / z.sum(-1, keepdims=True)
    return float(np.abs(probabilities(np.asarray(logits, np.float64))
                        - probabilities(np.asarray(reference, np.float64))).max())
