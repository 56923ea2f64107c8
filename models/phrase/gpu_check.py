"""The phrase network on an accelerator under JAX, float16 against float32: ms
to score 8 s of tokens (400 frames) for one voice and for 64 at once, and how
far float16's next-token probabilities are from float32's (the largest
absolute difference). For a lent GPU machine with JAX and CUDA, no TensorFlow:

    KERAS_BACKEND=jax python -m models.phrase.gpu_check --json gpu.json

On stage the model runs one 20 ms step at a time on the CPU (LiteRT); a GPU
serves training and generating many phrases at once.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES = {"1x400": (1, 400), "64x400": (64, 400)}


def measure(keras_path: Path, frames: int, float16: bool) -> dict:
    import keras

    from engine.runtime import phrase
    from models.phrase import network

    source = keras.models.load_model(keras_path, compile=False)
    from models.common.gpu_check import max_probability_error, rebuilt, time_batch
    net, figures = rebuilt(source, lambda: network.build(network.units_of(source)), float16)
    rng = np.random.default_rng(0)
    for label, (batch, length) in SHAPES.items():
        pitch = rng.integers(0, phrase.PITCHES, (batch, length))
        loud = rng.integers(0, phrase.LOUDNESS_STEPS, (batch, length))
        x = np.stack([phrase.encode(p, l_) for p, l_ in zip(pitch, loud)])
        out, figures[f"compile_{label}_s"], figures[f"p50_{label}_ms"] = time_batch(net, x, max(3, frames // 10))
        reference = np.asarray(source.predict_on_batch(x), np.float32)

        figures[f"max_float16_probability_error_{label}"] = max_probability_error(
            out[..., :phrase.PITCHES], reference[..., :phrase.PITCHES])
        print(f"{label}: p50 {figures[f'p50_{label}_ms']:.1f} ms, float16 pitch probabilities off by at most "
              f"{figures[f'max_float16_probability_error_{label}']:.4f}", flush=True)
    return figures


def main(argv=None) -> int:
    from models.common.gpu_check import run_check
    return run_check(__doc__.split("\n\n")[0], HERE / "phrase.keras", measure, argv)


if __name__ == "__main__":
    sys.exit(main())
