"""`tensorstage eval sample-rnn`: the shipped weights, run by the engine's own
generator (engine/runtime/sample_rnn.py), on held-out clips of each texture
(the test split: seeds never trained on).

- Bits per sample: the probability the network gives each held-out sample's
  8-bit mu-law bin, hearing the clip (teacher-forced), against two baselines
  on the same bins: the unigram (the entropy of the held-out clip's own
  histogram of bins, an optimistic baseline since it is fitted on the data it
  scores) and order-16 linear prediction (the same backward-adaptive
  predictor the network is given, with a Laplace error whose scale follows
  the mean absolute error of the last 10 ms). Targets: at least 1 bit below
  the unigram, and below the linear prediction, for every texture.
- Spectral statistics of 10 s generated (`--temperature`, default 1, started from the
  shipped half-second seed of the texture, training split, as the node starts) against
  the held-out clips: level (RMS dBFS), spectral centroid, spectral flatness,
  excess kurtosis (how impulsive: drops, crackles), and the mean absolute
  difference of the two long-term spectra in 1/3-octave bands (dB).
The first 20 ms of each clip (the predictor's first window) is not scored.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from engine.runtime import sample_rnn as rnn

SHIPPED = Path(__file__).resolve().parent / "sample_rnn.npz"
SKIP = rnn.WINDOW


def unigram_bits(x: np.ndarray) -> float:
    k = rnn.mu_encode(x)
    h = np.bincount(k, minlength=rnn.LEVELS) / len(k)
    h = h[h > 0]
    return float(-(h * np.log2(h)).sum())


def linear_prediction_bits(x: np.ndarray) -> np.ndarray:
    """Bits per sample of the backward-adaptive order-16 predictor with a Laplace error."""
    p = rnn.predictions(x)
    error = np.abs(x - p)
    summed = np.concatenate([[0.0], np.cumsum(error)])
    t = np.arange(len(x))
    start = np.maximum(0, t - rnn.FRAME)
    scale = np.maximum((summed[t] - summed[start]) / np.maximum(1, t - start), 1e-4)
    edges = rnn.mu_edges()
    lo, hi = edges[:-1].copy(), edges[1:].copy()
    lo[0], hi[-1] = -np.inf, np.inf
    k = rnn.mu_encode(x)

    def cdf(z):
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0) / scale), 1 - 0.5 * np.exp(-np.maximum(z, 0) / scale))
    return -np.log2(np.maximum(cdf(hi[k] - p) - cdf(lo[k] - p), 1e-12))


def spectral_statistics(x: np.ndarray) -> dict:
    from scipy import signal
    freqs, power = signal.welch(x, rnn.RATE, nperseg=1024)
    power = np.maximum(power, 1e-20)
    centres = 100 * 2 ** (np.arange(0, 19) / 3)                     # 100 Hz .. 6.4 kHz, 1/3 octave
    bands = np.array([power[(freqs >= c / 2 ** (1 / 6)) & (freqs < c * 2 ** (1 / 6))].mean() for c in centres])
    centred = x - x.mean()
    return {"rms_db": float(20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)),
            "centroid_hz": float((freqs * power).sum() / power.sum()),
            "flatness": float(np.exp(np.mean(np.log(power))) / power.mean()),
            "kurtosis": float(np.mean(centred ** 4) / np.mean(centred ** 2) ** 2 - 3),
            "bands_db": 10 * np.log10(bands)}


def run(model_path: Path | None = None, seconds: float = 10.0, progress=print, temperature: float = 1.0) -> dict:
    from models.sample_rnn import textures

    path = Path(model_path) if model_path else SHIPPED
    weights = rnn.Weights.load(path)
    generator = rnn.Generator(weights, seed=0)
    figures: dict = {"model": path.name, "seconds_per_texture": seconds, "temperature": temperature}
    clips = max(1, int(np.ceil(seconds / 10)))
    for i, name in enumerate(weights.names):
        started = time.monotonic()
        mix = np.eye(len(weights.names))[i]
        model_bits, unigram, linear, held_out = [], [], [], []
        for c in range(clips):
            x = textures.clip(name, "test", c, min(10.0, seconds)).astype(np.float64)
            generator.reset()
            model_bits.append(-generator.score(x, mix)[SKIP:])
            linear.append(linear_prediction_bits(x)[SKIP:])
            unigram.append(unigram_bits(x[SKIP:]))
            held_out.append(x)
        generator.reset(mix)                    # from the texture's shipped seed, as the node starts
        made = generator.generate(int(seconds * rnn.RATE), mix, temperature).astype(np.float64)
        real, fake = spectral_statistics(np.concatenate(held_out)), spectral_statistics(made)
        f = {"bits_per_sample": float(np.mean(np.concatenate(model_bits))),
             "unigram_bits_per_sample": float(np.mean(unigram)),
             "linear_prediction_bits_per_sample": float(np.mean(np.concatenate(linear)))}
        f["below_unigram_bits"] = f["unigram_bits_per_sample"] - f["bits_per_sample"]
        f["below_linear_prediction_bits"] = f["linear_prediction_bits_per_sample"] - f["bits_per_sample"]
        for key in ("rms_db", "centroid_hz", "flatness", "kurtosis"):
            f[f"held_out_{key}"], f[f"generated_{key}"] = real[key], fake[key]
        f["spectrum_difference_db"] = float(np.mean(np.abs(real["bands_db"] - fake["bands_db"])))
        figures.update({f"{name}_{k}": v for k, v in f.items()})
        progress(f"sample-rnn eval: {name} {f['bits_per_sample']:.2f} bits/sample "
                 f"({time.monotonic() - started:.0f} s)")
    names = weights.names
    figures["targets_met"] = all(figures[f"{n}_below_unigram_bits"] >= 1.0
                                 and figures[f"{n}_below_linear_prediction_bits"] > 0 for n in names)
    figures["textures"] = ",".join(names)
    return figures


def table(f: dict) -> str:
    names = f["textures"].split(",")
    rows = [f"sample RNN ({f['model']}) on {f['seconds_per_texture']:g} s of held-out audio per texture; "
            f"generated at temperature {f['temperature']:g}",
            f"{'texture':<8}{'bits/sample':>12}{'unigram':>9}{'LPC-16':>8}{'spectrum dB':>13}"
            f"{'level dB':>16}{'centroid Hz':>18}{'kurtosis':>16}",
            f"{'':<8}{'':>12}{'':>9}{'':>8}{'off by':>13}{'held / made':>16}{'held / made':>18}{'held / made':>16}"]
    for n in names:
        g = lambda k: f[f"{n}_{k}"]     # noqa: E731
        rows.append(f"{n:<8}{g('bits_per_sample'):>12.2f}{g('unigram_bits_per_sample'):>9.2f}"
                    f"{g('linear_prediction_bits_per_sample'):>8.2f}{g('spectrum_difference_db'):>13.1f}"
                    f"{g('held_out_rms_db'):>8.1f} /{g('generated_rms_db'):>6.1f}"
                    f"{g('held_out_centroid_hz'):>10.0f} /{g('generated_centroid_hz'):>6.0f}"
                    f"{g('held_out_kurtosis'):>8.1f} /{g('generated_kurtosis'):>6.1f}")
    rows.append(f"targets (>= 1 bit below the unigram and below LPC-16, every texture): "
                f"{'met' if f['targets_met'] else 'NOT met'}")
    return "\n".join(rows)


def main(model_path: Path | None, json_path: Path | None, seconds: float = 10.0, temperature: float = 1.0) -> int:
    from engine.runtime.backend import ModelError
    try:
        figures = run(model_path, seconds, temperature=temperature)
    except ModelError as error:
        print(f"tensorstage eval sample-rnn: {error}")
        return 1
    print(table(figures))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=1) + "\n")
    return 0
