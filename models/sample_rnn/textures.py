"""The textures the sample RNN learns, made by the project's own generators
(Apache-2.0 with the rest of the code; no recordings): every clip is a pure
function of its texture, split and index, so the training, validation and
test audio are the same on every machine and never overlap (different seeds).

- rain: a bed of distant rain (pink noise rolled off above 3 kHz) and near
  drops: short resonant bubbles (Minnaert resonances, rising in pitch as
  they ring) at random times and levels.
- wind: noise through a resonant band-pass whose centre and width wander,
  with gusts (slow random swells) and a low rumble.
- drone: three slightly detuned voices of a harmonic tone (40 partials, a
  slowly sweeping brightness), beating against each other, with breath noise.
- fire: brown-ish noise that flickers, and crackles: bursts of sharp clicks.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

RATE = 16000
TEXTURES = ("rain", "wind", "drone", "fire")
SPLITS = {"train": 0, "validation": 1, "test": 2}


def clip(texture: str, split: str, index: int, seconds: float = 10.0) -> np.ndarray:
    """One clip of `texture` (float32 at 16 kHz, RMS about 0.1, peaks under 0.9)."""
    if texture not in TEXTURES:
        raise ValueError(f"no texture {texture!r}; there are {', '.join(TEXTURES)}")
    rng = np.random.default_rng([TEXTURES.index(texture), SPLITS[split], index])
    n = int(seconds * RATE)
    x = {"rain": _rain, "wind": _wind, "drone": _drone, "fire": _fire}[texture](rng, n)
    x = x - x.mean()
    x *= 0.1 / max(np.sqrt(np.mean(x ** 2)), 1e-9)
    peak = np.abs(x).max()
    return (x * (0.9 / peak if peak > 0.9 else 1.0)).astype(np.float32)


def _slow(rng, n: int, seconds: float) -> np.ndarray:
    """A smooth random curve in about [-1, 1] that changes over `seconds`."""
    points = max(4, int(n / RATE / seconds) + 4)
    knots = rng.uniform(-1, 1, points)
    return np.interp(np.arange(n), np.linspace(0, n, points), knots)


def _rain(rng, n):
    # The bed slopes down as recorded rain does (many distant drops: pink noise, rolled off above 3 kHz).
    white = rng.standard_normal(n)
    pink = signal.lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                          [1, -2.494956002, 2.017265875, -0.522189400], white)
    bed = signal.lfilter(*signal.butter(2, [80, 3000], "bandpass", fs=RATE), pink)
    x = bed / bed.std() * 0.15 * (1 + 0.3 * _slow(rng, n, 2.0))
    rate = rng.uniform(30, 90)                                  # near drops per second
    for start in np.cumsum(rng.exponential(RATE / rate, int(n / RATE * rate * 1.5) + 4)).astype(int):
        if start >= n:
            break
        length = int(rng.uniform(0.004, 0.02) * RATE)
        t = np.arange(min(length, n - start)) / RATE
        f0 = rng.uniform(1500, 5000)
        freq = f0 * (1 + 0.8 * t / (length / RATE))             # the bubble's pitch rises as it rings
        decay = np.exp(-t * rng.uniform(150, 500))
        x[start:start + len(t)] += 10 ** rng.uniform(-1.2, 0) * 0.5 * decay * np.sin(2 * np.pi * np.cumsum(freq)
                                                                                     / RATE)
    return x


def _wind(rng, n):
    noise = rng.standard_normal(n)
    out = np.zeros(n)
    centre = 500 * 2 ** (1.2 * _slow(rng, n, 1.5))
    q = 3 + 2 * _slow(rng, n, 3.0)
    state = np.zeros(2)
    for start in range(0, n, 256):                              # the filter moves every 16 ms
        end = min(n, start + 256)
        b, a = signal.iirpeak(centre[start], q[start], fs=RATE)
        out[start:end], state = signal.lfilter(b, a, noise[start:end], zi=state)
    gusts = np.clip(0.6 + 0.5 * _slow(rng, n, 1.0) + 0.3 * _slow(rng, n, 0.3), 0.05, None)
    rumble = signal.lfilter(*signal.butter(2, 120, fs=RATE), rng.standard_normal(n)) * 2
    return out * gusts + rumble * gusts


def _drone(rng, n):
    t = np.arange(n) / RATE
    f0 = rng.uniform(55, 110)
    bright = 0.5 + 0.4 * _slow(rng, n, 4.0)                     # partial k falls as k ** -(1 + 2 * (1 - bright))
    x = np.zeros(n)
    for detune in (0.0, rng.uniform(0.1, 0.4), -rng.uniform(0.1, 0.4)):
        phase0 = rng.uniform(0, 2 * np.pi, 40)
        for k in range(1, 41):
            if k * f0 > 7000:
                break
            x += k ** -(1 + 2 * (1 - bright)) * np.sin(2 * np.pi * k * (f0 + detune) * t + phase0[k - 1])
    breath = signal.lfilter(*signal.butter(2, [300, 3000], "bandpass", fs=RATE), rng.standard_normal(n))
    return x * (1 + 0.2 * _slow(rng, n, 3.0)) + 0.05 * breath


def _fire(rng, n):
    brown = signal.lfilter([1.0], [1.0, -0.995], rng.standard_normal(n))
    bed = signal.lfilter(*signal.butter(2, [60, 1500], "bandpass", fs=RATE), brown) * 0.05
    x = bed * np.clip(1 + 0.6 * _slow(rng, n, 0.2), 0.1, None)
    rate = rng.uniform(3, 10)                                   # bursts of crackles per second
    for start in np.cumsum(rng.exponential(RATE / rate, int(n / RATE * rate * 1.5) + 4)).astype(int):
        for click in start + np.cumsum(rng.exponential(0.004 * RATE, int(rng.integers(1, 8)))).astype(int):
            if click >= n - 64:
                continue
            length = int(rng.integers(8, 64))
            burst = rng.standard_normal(length) * np.exp(-np.arange(length) / rng.uniform(2, 12))
            x[click:click + length] += 10 ** rng.uniform(-1.0, 0.3) * np.diff(burst, prepend=0)
    return x
