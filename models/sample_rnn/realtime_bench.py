"""`tensorstage bench sample-rnn`: which network size runs fast enough, and the
shipped one live.

1. Real-time factor on one core (the process pinned to one CPU) of one GRU
   step per sample at 16 kHz, for GRUs of 64..384 units (hidden layer 128,
   random weights: speed does not depend on them), in the engine's numba
   loop, against the same step in numpy (one call per operation), and the
   shipped model with its resampling to 48 kHz as the node runs it. Target:
   at least 1.5x real time.
2. Live (unless --no-live): patches/textures' node on PipeWire's null sink at
   256-frame blocks, the style network painting beside it, for `--seconds`:
   underflows, frames the generator could not deliver, the style's frame
   rate.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.runtime import sample_rnn as rnn

SIZES = (64, 128, 192, 256, 384)
HIDDEN = 128
PATCH = """
[audio]
process = true

[nodes.texture]
type = "sample_rnn"
block = {block}
params.texture1 = 1.0

[nodes.speakers]
type = "speakers"
device = "pipewire"
block = {block}
inputs.audio = "texture.audio"
"""


def random_weights(units: int, hidden: int = HIDDEN, textures: int = 4) -> rnn.Weights:
    r = np.random.default_rng(0)
    f = lambda *s: (r.standard_normal(s) * 0.1).astype(np.float32)     # noqa: E731
    return rnn.Weights(f(3 * units, units), f(3 * units), f(256, 3 * units), f(256, 3 * units), f(256, 3 * units),
                       f(textures, 3 * units), f(hidden, units), f(hidden), f(256, hidden), f(256),
                       [str(i) for i in range(textures)])


def numpy_step_rtf(weights: rnn.Weights, samples: int = 2000) -> float:
    """The same step in plain numpy (LiteRT is slower still: 0.1-0.2 ms a call)."""
    w = weights
    h = np.zeros(w.units, np.float32)
    bias = w.textures[0]
    x = 0.0
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for _ in range(samples):
        k = int(rnn.mu_encode(x))
        xg = w.table_s[k] + w.table_p[k] + w.table_e[k] + bias
        hg = w.w_hh @ h + w.b_hh
        u = w.units
        z = 1 / (1 + np.exp(-(xg[:u] + hg[:u])))
        r = 1 / (1 + np.exp(-(xg[u:2 * u] + hg[u:2 * u])))
        h = z * h + (1 - z) * np.tanh(xg[2 * u:] + r * hg[2 * u:])
        logits = w.w2 @ np.maximum(w.w1 @ h + w.b1, 0) + w.b2
        p = np.exp(logits - logits.max())
        k = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum()))
        x = float(rnn.mu_decode(min(k, 255)))
    return samples / rnn.RATE / (time.perf_counter() - started)


def kernel_rtf(weights: rnn.Weights, seconds: float = 2.0, resample_to: int | None = None) -> float:
    generator = rnn.Generator(weights, seed=0)
    generator.generate(800, np.eye(len(weights.names))[0])          # compiled
    resampler = None
    if resample_to:
        import samplerate
        resampler = samplerate.Resampler("sinc_medium", channels=1)
    chunks = int(seconds * rnn.RATE / 800)
    started = time.perf_counter()
    for _ in range(chunks):
        made = generator.generate(800, np.eye(len(weights.names))[0])
        if resampler is not None:
            resampler.process(made, resample_to / rnn.RATE)
    return chunks * 800 / rnn.RATE / (time.perf_counter() - started)


def sizes(progress=print) -> dict:
    figures = {}
    for units in SIZES:
        weights = random_weights(units)
        figures[f"units_{units}_rtf"] = kernel_rtf(weights)
        figures[f"units_{units}_us_per_sample"] = 1e6 / rnn.RATE / figures[f"units_{units}_rtf"]
        progress(f"bench sample-rnn: {units} units {figures[f'units_{units}_rtf']:.2f}x real time")
    figures["numpy_units_256_rtf"] = numpy_step_rtf(random_weights(256))
    figures["largest_units_at_1_5x"] = max((u for u in SIZES if figures[f"units_{u}_rtf"] >= 1.5), default=0)
    from engine.processors.sample_rnn import SHIPPED
    shipped = rnn.Weights.load(SHIPPED)
    figures["shipped_units"] = shipped.units
    figures["shipped_rtf"] = kernel_rtf(shipped, resample_to=48000)
    figures["shipped_core_share_pct"] = 100 / figures["shipped_rtf"]
    return figures


def main(seconds: float, json_path: Path | None, with_live: bool = True) -> int:
    from engine.bench.audio import generator_bench
    return generator_bench("sample-rnn", "sample RNN: real-time factor on one core (16 kHz, hidden 128)", sizes,
                           PATCH.format(block=256), seconds, json_path, with_live,
                           lambda engine: {"dry_frames": engine.runners["texture"].node.dry_frames})
