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
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = {"256": (256, 256), "512": (512, 512), "1080p": (1088, 1920)}   # 1080 rounded up to a multiple of 8


def measure(keras_path: Path, frames: int, float16: bool) -> dict:
    import keras

    from models.style.network import build, widths  # also registers ConditionalInstanceNorm

    source = keras.models.load_model(keras_path, compile=False)
    styles = int(source.input["style"].shape[-1])
    from models.common.gpu_check import rebuilt
    net, figures = rebuilt(source, lambda: build(styles, channels=widths(source)), float16)
    from models.common.gpu_check import time_sizes
    onehot = np.eye(styles, dtype=np.float32)[:1]
    batches = {label: {"image": np.random.default_rng(0).random((1, h, w, 3), np.float32), "style": onehot}
               for label, (h, w) in SIZES.items()}
    return time_sizes(lambda model, batch: model.predict_on_batch(batch), net, source, batches, frames, figures)


def main(argv=None) -> int:
    from models.common.gpu_check import run_check
    return run_check(__doc__.split("\n\n")[0], HERE / "style.keras", measure, argv)


if __name__ == "__main__":
    sys.exit(main())
