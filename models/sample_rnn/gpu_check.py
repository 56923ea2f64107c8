"""The sample RNN on an accelerator under JAX, float16 against float32: ms to
score 64 ms (1,024 samples) of every texture for one voice and for 64 at
once, teacher-forced, and how far float16's excitation probabilities are from
float32's (the largest absolute difference). For a lent GPU machine with JAX
and CUDA, no TensorFlow:

    KERAS_BACKEND=jax python -m models.sample_rnn.gpu_check --json gpu.json

On stage the network runs one sample at a time on the CPU (the engine's numba
loop); a GPU serves training and scoring many clips at once.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES = {"1x1024": (1, 1024), "64x1024": (64, 1024)}


def measure(keras_path: Path, frames: int, float16: bool) -> dict:
    import keras

    from models.common.gpu_check import max_probability_error, rebuilt, time_batch
    from models.sample_rnn import network

    source = keras.models.load_model(keras_path, compile=False)
    textures = int(source.get_layer("gru").input.shape[-1]) - 3 * network.EMBED

    def build():
        return network.build(textures, int(source.get_layer("gru").units), int(source.get_layer("hidden").units))
    net, figures = rebuilt(source, build, float16)
    rng = np.random.default_rng(0)
    for label, (batch, length) in SHAPES.items():
        ints = [rng.integers(0, 256, (batch, length)).astype("int32") for _ in range(3)]
        texture = np.eye(textures, dtype="float32")[rng.integers(0, textures, batch)][:, None, :].repeat(length, 1)
        x = [*ints, texture]
        out, figures[f"compile_{label}_s"], figures[f"p50_{label}_ms"] = time_batch(net, x, max(3, frames // 10))
        reference = np.asarray(source.predict_on_batch(x), np.float32)

        figures[f"max_float16_probability_error_{label}"] = max_probability_error(out, reference)
        print(f"{label}: p50 {figures[f'p50_{label}_ms']:.1f} ms, float16 probabilities off by at most "
              f"{figures[f'max_float16_probability_error_{label}']:.4f}", flush=True)
    return figures


def main(argv=None) -> int:
    from models.common.gpu_check import run_check
    return run_check(__doc__.split("\n\n")[0], HERE / "sample_rnn.keras", measure, argv)


if __name__ == "__main__":
    sys.exit(main())
