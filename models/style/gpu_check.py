"""The style network on an accelerator under JAX, in float16: ms per frame at
256x256, 512x512 and 1080p. For a lent GPU machine that has JAX with CUDA but
no TensorFlow (the network uses Keras layers and keras.ops only):

    KERAS_BACKEND=jax python -m models.style.gpu_check --json gpu.json

Needs only keras, jax, numpy and h5py; never imports TensorFlow (of the engine,
only its Keras layers, engine/runtime/layers.py).
Prints a table and writes the same figures as flat JSON.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = {"256": (256, 256), "512": (512, 512), "1080p": (1088, 1920)}   # 1080 rounded up to a multiple of 8


def measure(keras_path: Path, frames: int, float16: bool) -> dict:
    import keras

    from models.style.network import build, widths  # also registers ConditionalInstanceNorm

    source = keras.models.load_model(keras_path, compile=False)
    styles = int(source.input["style"].shape[-1])
    figures = {"backend": keras.backend.backend(), "float16": float16}
    if keras.backend.backend() == "jax":
        import jax
        figures["device"] = str(jax.devices()[0])
    if float16:
        keras.config.set_dtype_policy("mixed_float16")
    net = build(styles, channels=widths(source))
    net.set_weights(source.get_weights())
    keras.config.set_dtype_policy("float32")
    reference = None
    for label, (h, w) in SIZES.items():
        rng = np.random.default_rng(0)
        batch = {"image": rng.random((1, h, w, 3), np.float32), "style": np.eye(styles, dtype=np.float32)[:1]}
        started = time.perf_counter()
        out = np.asarray(net.predict_on_batch(batch))          # compiles for this size
        figures[f"compile_{label}_s"] = time.perf_counter() - started
        times = []
        for _ in range(frames):
            started = time.perf_counter()
            out = np.asarray(net.predict_on_batch(batch))      # numpy out: waits for the device
            times.append((time.perf_counter() - started) * 1000)
        figures[f"p50_{label}_ms"] = float(np.percentile(times, 50))
        figures[f"p95_{label}_ms"] = float(np.percentile(times, 95))
        figures[f"fps_{label}"] = 1000.0 / float(np.mean(times))
        if label == "256":
            reference = np.asarray(source.predict_on_batch(batch), np.float32)
            mse = float(np.mean((out.astype(np.float32) - reference) ** 2))
            figures["psnr_float16_vs_float32_256_db"] = 10 * np.log10(1.0 / mse) if mse > 0 else float("inf")
        print(f"{label:>6}: p50 {figures[f'p50_{label}_ms']:.2f} ms, p95 {figures[f'p95_{label}_ms']:.2f} ms, "
              f"{figures[f'fps_{label}']:.0f} fps (compile {figures[f'compile_{label}_s']:.1f} s)", flush=True)
    return figures


def main(argv=None) -> int:
    from models.common.gpu_check import run_check
    return run_check(__doc__.split("\n\n")[0], HERE / "style.keras", measure, argv)


if __name__ == "__main__":
    sys.exit(main())
