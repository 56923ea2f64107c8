"""The sample-level RNN's generator: one audio sample per GRU step at 16 kHz,
in the manner of LPCNet (Valin and Skoglund 2019).

A backward-adaptive linear predictor of order 16 (recomputed every 10 ms from
the last 20 ms generated) predicts each sample; the GRU, fed the previous
sample, that prediction and the previous excitation (each 8-bit mu-law,
looked up in tables that hold their input projections), gives a distribution
over the excitation (the prediction's error, 8-bit mu-law), which is sampled:
sample = prediction + excitation. The network then only models what linear
prediction cannot: the shape and the level of the noise, the attacks.

One GRU step per sample is 16,000 steps a second: a LiteRT call costs
0.1-0.2 ms, a numpy step about 40 us (both too slow, see `tensorstage bench
sample-rnn`), so the whole loop is one numba-compiled function that makes a
block of samples and releases the GIL while it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.runtime.backend import ModelError

RATE = 16000
LEVELS = 256
MU = 255.0
ORDER = 16
FRAME = 160                 # the predictor is recomputed every 10 ms ...
WINDOW = 320                # ... from the last 20 ms
TAIL = 0.002                # generating, bins under this share of the mass are not drawn
LAG_WINDOW = np.exp(-0.5 * (2 * np.pi * 60.0 / RATE * np.arange(ORDER + 1)) ** 2).astype(np.float64)


def mu_encode(x):
    """Samples in [-1, 1] to 8-bit mu-law indices 0..255 (numpy arrays)."""
    x = np.clip(np.asarray(x, np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    return np.clip(np.floor((y + 1) * 0.5 * (LEVELS - 1) + 0.5), 0, LEVELS - 1).astype(np.int64)


def mu_decode(k):
    """8-bit mu-law indices to sample values (the bins' centres)."""
    y = 2.0 * np.asarray(k, np.float64) / (LEVELS - 1) - 1.0
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU


def mu_edges() -> np.ndarray:
    """The 257 edges of the mu-law bins in sample values (-1 and 1 at the ends)."""
    mid = mu_decode(np.arange(LEVELS - 1) + 0.5)         # encode rounds in the companded domain
    return np.concatenate([[-1.0], mid, [1.0]])


def lpc(window: np.ndarray) -> np.ndarray:
    """Order-16 predictor coefficients a (x[t] ~ sum a[k] x[t-1-k]) of a window
    (Hann-weighted autocorrelation, 60 Hz lag window, -40 dB noise floor)."""
    return _lpc(np.asarray(window, np.float64))


def predictions(x: np.ndarray) -> np.ndarray:
    """The backward-adaptive prediction of every sample of x as the generator
    makes it (for training and evaluation): frame f's coefficients come from
    the WINDOW samples before it."""
    return _predictions(np.asarray(x, np.float64))


# --- numba kernels (compiled on first use, cached on disk) --------------------------------
def _jit(function):
    import numba
    return numba.njit(nogil=True, fastmath=True, cache=True)(function)


def _lpc_py(window):
    n = window.shape[0]
    w = np.empty(n)
    for i in range(n):
        w[i] = window[i] * (0.5 - 0.5 * np.cos(2.0 * np.pi * (i + 0.5) / n))
    r = np.zeros(ORDER + 1)
    for k in range(ORDER + 1):
        s = 0.0
        for i in range(k, n):
            s += w[i] * w[i - k]
        r[k] = s * LAG_WINDOW[k]
    r[0] = r[0] * 1.0001 + 1e-9
    a = np.zeros(ORDER)
    tmp = np.zeros(ORDER)
    err = r[0]
    for i in range(ORDER):
        acc = r[i + 1]
        for j in range(i):
            acc -= a[j] * r[i - j]
        k = acc / err
        for j in range(i):
            tmp[j] = a[j] - k * a[i - 1 - j]
        for j in range(i):
            a[j] = tmp[j]
        a[i] = k
        err *= (1.0 - k * k)
        if err <= 0.0:
            break
    return a


def _predictions_py(x):
    n = x.shape[0]
    past = np.zeros(WINDOW + n)             # silence before the start, as the generator's history
    past[WINDOW:] = x
    out = np.zeros(n)
    for start in range(0, n, FRAME):
        a = _lpc(past[start:start + WINDOW])
        for t in range(start, min(start + FRAME, n)):
            s = 0.0
            for k in range(ORDER):
                s += a[k] * past[WINDOW + t - 1 - k]
            out[t] = s
    return out


def _encode1(v):
    if v > 1.0:
        v = 1.0
    elif v < -1.0:
        v = -1.0
    y = np.log1p(MU * abs(v)) / np.log1p(MU)
    if v < 0:
        y = -y
    k = int(np.floor((y + 1.0) * 0.5 * (LEVELS - 1) + 0.5))
    return min(max(k, 0), LEVELS - 1)


def _cdf(z, edges, cumulative, probs):
    """The excitation distribution's CDF at z (piecewise uniform within each bin)."""
    if z <= edges[0]:
        return 0.0
    if z >= edges[LEVELS]:
        return cumulative[LEVELS]
    lo, hi = 0, LEVELS
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= z:
            lo = mid
        else:
            hi = mid
    return cumulative[lo] + probs[lo] * (z - edges[lo]) / (edges[lo + 1] - edges[lo])


def _generate_py(n, w_hh, b_hh, table_s, table_p, table_e, bias, w1, b1, w2, b2, edges, s_lo, s_hi,
                 h, history, last, temperature, uniforms, forced, score, out):
    """n samples into out. h: the GRU state (units); history: the last WINDOW
    samples, oldest first; last: [previous excitation bin, samples since the
    predictor was recomputed, a[0..15]] (all three updated in place);
    uniforms: 2n draws in [0, 1); edges: the excitation bins' 257 edges.
    With forced (n samples, else empty) the network hears those instead of
    drawing its own (priming from heard audio), and with score (n, else
    empty) it also writes log2 of the probability it gave each forced
    sample's 8-bit mu-law bin (s_lo, s_hi its edges): bits per sample."""
    units = h.shape[0]
    hidden = b1.shape[0]
    gates = np.empty(3 * units, h.dtype)
    o1 = np.empty(hidden, h.dtype)
    probs = np.empty(LEVELS)
    cumulative = np.empty(LEVELS + 1)
    a = last[2:]
    inv_t = 1.0 / max(temperature, 1e-3)
    forcing = forced.shape[0] > 0
    scoring = score.shape[0] > 0
    for t in range(n):
        if last[1] >= FRAME:
            a[:] = _lpc(history)
            last[1] = 0.0
        pred = 0.0
        for k in range(ORDER):
            pred += a[k] * history[WINDOW - 1 - k]
        ks = _encode1(history[WINDOW - 1])
        kp = _encode1(pred)
        ke = int(last[0])
        # GRU as Keras's (gates z, r, n; reset after the recurrent product): x-gates
        # from the three tables and the texture bias
        for i in range(3 * units):
            acc = b_hh[i]
            for j in range(units):
                acc += w_hh[i, j] * h[j]
            gates[i] = acc
        for i in range(units):
            xz = table_s[ks, i] + table_p[kp, i] + table_e[ke, i] + bias[i]
            xr = table_s[ks, units + i] + table_p[kp, units + i] + table_e[ke, units + i] + bias[units + i]
            xn = table_s[ks, 2 * units + i] + table_p[kp, 2 * units + i] + table_e[ke, 2 * units + i] \
                + bias[2 * units + i]
            z = 1.0 / (1.0 + np.exp(-(xz + gates[i])))
            r = 1.0 / (1.0 + np.exp(-(xr + gates[units + i])))
            c = np.tanh(xn + r * gates[2 * units + i])
            h[i] = z * h[i] + (1.0 - z) * c
        if forcing and not scoring:
            sample = min(max(forced[t], -1.0), 1.0)
        else:
            for i in range(hidden):
                acc = b1[i]
                for j in range(units):
                    acc += w1[i, j] * h[j]
                o1[i] = acc if acc > 0.0 else 0.0
            top = -1e30
            for i in range(LEVELS):
                acc = b2[i]
                for j in range(hidden):
                    acc += w2[i, j] * o1[j]
                acc *= inv_t
                probs[i] = acc
                if acc > top:
                    top = acc
            total = 0.0
            cumulative[0] = 0.0
            for i in range(LEVELS):
                probs[i] = np.exp(probs[i] - top)
                total += probs[i]
                cumulative[i + 1] = total
            if forcing:
                sample = min(max(forced[t], -1.0), 1.0)
                j = _encode1(sample)
                mass = _cdf(s_hi[j] - pred, edges, cumulative, probs) - _cdf(s_lo[j] - pred, edges, cumulative,
                                                                           probs)
                score[t] = np.log2(max(mass / total, 1e-12))
            else:
                # As LPCNet: bins under TAIL of the mass are never drawn; a
                # sample from the far tail is a click the predictor then echoes.
                floor = TAIL * total
                kept = 0.0
                for i in range(LEVELS):
                    kept += max(probs[i] - floor, 0.0)
                    cumulative[i + 1] = kept
                target = uniforms[2 * t] * kept
                pick = LEVELS - 1
                for i in range(LEVELS):
                    if cumulative[i + 1] >= target and probs[i] > floor:
                        pick = i
                        break
                sample = pred + edges[pick] + uniforms[2 * t + 1] * (edges[pick + 1] - edges[pick])
                sample = min(max(sample, -1.0), 1.0)
        ke = _encode1(sample - pred)
        for k in range(WINDOW - 1):
            history[k] = history[k + 1]
        history[WINDOW - 1] = sample
        out[t] = sample
        last[0] = ke
        last[1] += 1.0


_lpc = _jit(_lpc_py)
_predictions = _jit(_predictions_py)
_encode1 = _jit(_encode1)
_cdf = _jit(_cdf)
_generate = _jit(_generate_py)


# --- the shipped weights and the generator a node drives -----------------------------------
@dataclass
class Weights:
    """The exported network (models/sample_rnn/export.py): float32 arrays."""
    w_hh: np.ndarray            # (3U, U)   recurrent weights, gates z r n (Keras's order)
    b_hh: np.ndarray            # (3U,)
    table_s: np.ndarray         # (256, 3U) input projection of the previous sample ...
    table_p: np.ndarray         # (256, 3U) ... of the prediction ...
    table_e: np.ndarray         # (256, 3U) ... and of the previous excitation
    textures: np.ndarray        # (T, 3U)   each texture's input projection plus the input bias
    w1: np.ndarray              # (H, U)
    b1: np.ndarray
    w2: np.ndarray              # (256, H)
    b2: np.ndarray
    names: list[str]
    seeds: np.ndarray | None = None   # (T, N) half a second of each texture to start from

    @property
    def units(self) -> int:
        return int(self.w_hh.shape[1])

    @classmethod
    def load(cls, path: Path) -> "Weights":
        path = Path(path)
        if not path.exists():
            raise ModelError(f"{path}: no such model file")
        try:
            with np.load(path) as f:
                arrays = {k: np.ascontiguousarray(f[k], np.float32) for k in f.files if k != "names"}
                names = [str(n) for n in f["names"]]
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"{path}: not a sample-RNN weights file ({error})") from None
        try:
            weights = cls(**arrays, names=names)
        except TypeError as error:
            raise ModelError(f"{path}: not a sample-RNN weights file ({error})") from None
        u = weights.units
        shapes = {"w_hh": (3 * u, u), "b_hh": (3 * u,), "table_s": (LEVELS, 3 * u), "table_p": (LEVELS, 3 * u),
                  "table_e": (LEVELS, 3 * u), "textures": (len(names), 3 * u), "w2": (LEVELS, weights.w1.shape[0])}
        for key, shape in shapes.items():
            if getattr(weights, key).shape != shape:
                raise ModelError(f"{path}: {key} is {getattr(weights, key).shape}, a sample RNN of {u} units "
                                 f"needs {shape}")
        return weights

    def save(self, path: Path) -> None:
        keys = ("w_hh", "b_hh", "table_s", "table_p", "table_e", "textures", "w1", "b1", "w2", "b2") \
            + (("seeds",) if self.seeds is not None else ())
        np.savez(path, **{k: np.asarray(getattr(self, k), np.float32) for k in keys}, names=np.array(self.names))


class Generator:
    """Holds the GRU state and the recent samples; `generate(n)` makes the next
    n samples at 16 kHz (GIL released inside), `prime(x)` runs the network over
    heard audio (teacher-forced, state kept) so it goes on from there, and
    `score(x)` gives the bits it spends on each sample of x."""

    def __init__(self, weights: Weights, seed: int | None = None) -> None:
        self.weights = weights
        self.edges = mu_edges()
        self.edges[0], self.edges[-1] = -2.0, 2.0          # an excitation spans [-2, 2]
        self.s_lo, self.s_hi = mu_edges()[:-1].copy(), mu_edges()[1:].copy()
        self.s_lo[0], self.s_hi[-1] = -np.inf, np.inf     # generated samples are clipped into the end bins
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self, mix=None) -> None:
        """Start afresh: from silence, or given the texture weights, from the
        shipped seed of the strongest texture (the predictor and the GRU then
        start inside that sound instead of finding it from nothing)."""
        self.h = np.zeros(self.weights.units, np.float32)
        self.history = np.zeros(WINDOW)
        self.last = np.zeros(2 + ORDER)
        self.last[0] = mu_encode(0.0)
        self.last[1] = FRAME
        seeds = self.weights.seeds
        if mix is not None and seeds is not None and seeds.shape[1]:
            self.prime(seeds[int(np.argmax(mix))], mix)

    def texture_bias(self, mix) -> np.ndarray:
        """The texture weights (one per texture, normalised) as one input bias: mixes morph."""
        mix = np.asarray(mix, np.float64)
        mix = mix / mix.sum() if mix.sum() > 0 else np.eye(len(self.weights.names))[0]
        return (mix @ self.weights.textures).astype(np.float32)

    def generate(self, n: int, mix, temperature: float = 1.0) -> np.ndarray:
        return self._run(n, mix, temperature, np.empty(0), np.empty(0))

    def prime(self, heard: np.ndarray, mix) -> None:
        """Run over heard audio (16 kHz, [-1, 1]) so that what follows continues it."""
        self._run(len(heard), mix, 1.0, np.asarray(heard, np.float64), np.empty(0))

    def score(self, audio: np.ndarray, mix) -> np.ndarray:
        """log2 of the probability of each sample's 8-bit mu-law bin, hearing the audio (state kept)."""
        bits = np.empty(len(audio))
        self._run(len(audio), mix, 1.0, np.asarray(audio, np.float64), bits)
        return bits

    def _run(self, n: int, mix, temperature: float, forced: np.ndarray, score: np.ndarray) -> np.ndarray:
        w = self.weights
        out = np.empty(n)
        _generate(n, w.w_hh, w.b_hh, w.table_s, w.table_p, w.table_e, self.texture_bias(mix), w.w1, w.b1, w.w2,
                  w.b2, self.edges, self.s_lo, self.s_hi, self.h, self.history, self.last, float(temperature),
                  self.rng.random(2 * n), forced, score, out)
        if not np.all(np.isfinite(out)) or not np.all(np.isfinite(self.h)):
            self.reset()
            raise ModelError("sample RNN: the generator gave NaN or inf (state reset)")
        return out.astype(np.float32)
