"""The timbre network on an accelerator under JAX, float16 against float32:
ms for 10 s of controls (2000 frames, one voice), for 64 voices at once (a
training-sized batch), and the largest difference of the float16 controls
from float32's in dB. For a lent GPU machine that has JAX with CUDA but no
TensorFlow (Keras layers and keras.ops only):

    KERAS_BACKEND=jax python -m models.timbre.gpu_check --json gpu.json

On stage the model runs one 5 ms step at a time on the CPU (LiteRT, 0.05 ms):
a GPU cannot beat that for one voice; this measures what it offers offline
(rendering, training, many voices).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES = {"1x2000": (1, 2000), "64x250": (64, 250)}


def measure(keras_path: Path, frames: int, float16: bool) -> dict:

    from models.timbre import network

    source = network.load(keras_path)
    from models.common.gpu_check import rebuilt, time_batch
    net, figures = rebuilt(source, lambda: network.build(network.instruments_of(source), network.units_of(source)), float16)
    rng = np.random.default_rng(0)
    for label, (batch, length) in SHAPES.items():
        f0 = 220 * 2 ** rng.uniform(-1, 2, (batch, 1)) * np.ones((1, length))
        loud = np.linspace(-60, -20, length)[None].repeat(batch, 0)
        x = np.stack([network.scale_inputs(f, l, np.eye(network.instruments_of(source))[0])
                      for f, l in zip(f0, loud)])
        out, figures[f"compile_{label}_s"], figures[f"p50_{label}_ms"] = time_batch(net, x, max(3, frames // 10))
        figures[f"realtime_factor_{label}"] = float(batch * length * 0.005 * 1000 / figures[f"p50_{label}_ms"])
        reference = np.asarray(source.predict_on_batch(x), np.float32)
        db = np.abs(20 * np.log10((out + 1e-4) / (reference + 1e-4)))
        figures[f"max_float16_error_{label}_db"] = float(db.max())
        print(f"{label}: p50 {figures[f'p50_{label}_ms']:.1f} ms ({figures[f'realtime_factor_{label}']:.0f}x "
              f"real time), float16 off by at most {db.max():.2f} dB", flush=True)
    return figures


def main(argv=None) -> int:
    from models.common.gpu_check import run_check
    return run_check(__doc__.split("\n\n")[0], HERE / "timbre.keras", measure, argv)


if __name__ == "__main__":
    sys.exit(main())
