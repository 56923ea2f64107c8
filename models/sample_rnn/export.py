"""The trained Keras network to the weights the engine's numba generator runs
(engine/runtime/sample_rnn.Weights, an .npz): the embeddings folded through
the GRU's input kernel into three 256-row tables, each texture's kernel row
plus the input bias into one row per texture, the rest transposed; and half a
second of each texture (training split) for the generator to start from."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.runtime.sample_rnn import Weights


SEED_S = 0.5


def seeds(names: list[str]) -> np.ndarray:
    """Half a second of each texture (training split) that the engine starts from."""
    from models.sample_rnn import textures
    return np.stack([textures.clip(n, "train", 0, SEED_S) for n in names]).astype(np.float32)


def weights_of(model, names: list[str]) -> Weights:
    gru = model.get_layer("gru")
    kernel, recurrent, bias = (np.asarray(v, np.float64) for v in gru.get_weights())
    bias = bias.reshape(2, -1)                          # reset_after: input bias, recurrent bias
    embed = model.get_layer("embed_sample").output_dim
    tables = [np.asarray(model.get_layer(f"embed_{k}").get_weights()[0], np.float64)
              @ kernel[i * embed:(i + 1) * embed] for i, k in enumerate(("sample", "prediction", "excitation"))]
    w1, b1 = model.get_layer("hidden").get_weights()
    w2, b2 = model.get_layer("logits").get_weights()
    f = lambda a: np.ascontiguousarray(a, np.float32)    # noqa: E731
    return Weights(w_hh=f(recurrent.T), b_hh=f(bias[1]), table_s=f(tables[0]), table_p=f(tables[1]),
                   table_e=f(tables[2]), textures=f(kernel[3 * embed:] + bias[0]), w1=f(w1.T), b1=f(b1),
                   w2=f(w2.T), b2=f(b2), names=list(names),
                   seeds=seeds(names) if set(names) <= set(_textures()) else None)


def _textures() -> tuple:
    from models.sample_rnn import textures
    return textures.TEXTURES


def export(model, names: list[str], path: Path) -> Path:
    path = Path(path)
    weights_of(model, names).save(path)
    return path
