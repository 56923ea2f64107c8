"""The colorization network on an accelerator under JAX, in float16 against
float32: ms per frame at 256x256, 512x512 and 1080p, and the PSNR of the
float16 colour against float32's. For a lent GPU machine that has JAX with
CUDA but no TensorFlow (Keras layers and keras.ops only):

    KERAS_BACKEND=jax python -m models.colorize.gpu_check --json gpu.json

Needs only keras, jax, numpy and h5py; never imports TensorFlow or OpenCV.
Prints each size and writes the figures as flat JSON.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = {"256": (256, 256), "512": (512, 512), "1080p": (1088, 1920)}   # 1080 rounded up to a multiple of 8


def measure(keras_path: Path, frames: int, float16: bool) -> dict:
    import keras

    from models.colorize.network import build, widths

    source = keras.models.load_model(keras_path, compile=False)
    from models.common.gpu_check import rebuilt
    net, figures = rebuilt(source, lambda: build(widths=widths(source)), float16)
    if keras.backend.backend() == "jax":
        def run(model, batch):
            return model.predict_on_batch(batch)              # compiled by XLA, once per size
    else:
        # TensorFlow's predict traces with free height and width, which its
        # bilinear resize cannot; a call sees the frame's size.
        def run(model, batch):
            return model(batch, training=False)
    from models.common.gpu_check import time_sizes
    batches = {label: {"lightness": np.random.default_rng(0).random((1, h, w, 1), np.float32),
                       "hints": np.zeros((1, h, w, 3), np.float32)} for label, (h, w) in SIZES.items()}
    return time_sizes(run, net, source, batches, frames, figures, scale=0.5)       # ab in -1..1


def main(argv=None) -> int:
    from models.common.gpu_check import run_check
    return run_check(__doc__.split("\n\n")[0], HERE / "colorize.keras", measure, argv)


if __name__ == "__main__":
    sys.exit(main())
