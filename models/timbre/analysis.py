"""What the synthesizer would need to play a recording: per 5 ms frame, the
harmonic amplitudes at the known f0 and the noise band gains of what is left.

Audio is 16 kHz (the rendered tunes), frames every 80 samples (5 ms), each
analysed over a 768-sample Hann window centred on it (48 ms: it resolves the
harmonics of a cello's C2, 65 Hz apart). f0 comes from the score, held through
rests and release tails (the sound rings on at the last note's pitch).

- Harmonic k's peak amplitude is 2|X(k f0)| / sum(w), the windowed frame's
  DFT at exactly k f0 (frames grouped by f0, so each group is one matrix product).
- The harmonics so measured are subtracted from the frame; the residual's
  power spectrum, per band of the synthesizer's 65 (linear to 8 kHz), gives a
  band gain g with E|R|^2 = g^2 sum(w^2): white noise of unit variance scaled
  by g, as `engine/audio/synth.py` makes it.
These are the first stage's regression targets, the baseline's table entries,
and the model's inputs (f0, loudness) for training.
"""
from __future__ import annotations

import numpy as np

RATE = 16000
HOP = 80                   # 5 ms frames
WINDOW = 768
HARMONICS = 60
BANDS = 65
TOP_HZ = 8000.0            # the synthesizer's harmonic and noise ceiling at every rate
FLOOR = 1e-4               # -80 dB: amplitudes below this count as silence in the losses


def frame_f0(f0_10ms: np.ndarray, frames: int) -> np.ndarray:
    """The score's f0 (10 ms labels) at 5 ms frame centres, 0 between notes."""
    centres = np.arange(frames) * HOP + HOP // 2
    index = np.minimum(centres // 160, len(f0_10ms) - 1)
    return f0_10ms[index].astype(np.float64)


def held(f0: np.ndarray) -> np.ndarray:
    """f0 with rests filled by the last pitch (the first pitch before the first note); 0 without notes."""
    voiced = np.nonzero(f0 > 0)[0]
    if len(voiced) == 0:
        return np.zeros_like(f0)
    index = np.maximum.accumulate(np.where(f0 > 0, np.arange(len(f0)), 0))
    out = f0[index].copy()
    out[: voiced[0]] = f0[voiced[0]]
    return out


def loudness_db(audio: np.ndarray, frames: int) -> np.ndarray:
    """RMS level in dB over the 10 ms ending at each frame's end, as the live
    tracker measures it (engine/audio/tracker.py)."""
    padded = np.concatenate([np.zeros(160), audio.astype(np.float64), np.zeros(HOP)])
    squares = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    ends = np.arange(1, frames + 1) * HOP + 160
    power = (squares[ends] - squares[ends - 160]) / 160
    return 10 * np.log10(np.maximum(power, 0) + 1e-14)


def band_of_bins(size: int) -> np.ndarray:
    """For each rfft bin of a `size`-sample frame, the nearest synthesizer band (-1 above TOP_HZ)."""
    frequencies = np.fft.rfftfreq(size, 1 / RATE)
    bands = np.rint(frequencies / TOP_HZ * (BANDS - 1)).astype(int)
    return np.where(frequencies <= TOP_HZ, bands, -1)


def analyse(audio: np.ndarray, f0_10ms: np.ndarray) -> dict[str, np.ndarray]:
    """Per 5 ms frame: f0 (score, 0 in rests), f0_held, loudness_db, harmonic amplitudes
    (frames, 60; NaN at or above TOP_HZ) and noise band gains (frames, 65)."""
    audio = audio.astype(np.float64)
    frames = len(audio) // HOP
    f0 = frame_f0(f0_10ms, frames)
    f0_held = held(f0)
    window = np.hanning(WINDOW)
    half = WINDOW // 2
    padded = np.concatenate([np.zeros(half), audio, np.zeros(half + HOP)])
    starts = np.arange(frames) * HOP + HOP // 2        # frame centre in `audio` = start in `padded`
    index = starts[:, None] + np.arange(WINDOW)[None, :]
    chunks = padded[index]                                          # (frames, WINDOW)
    n = np.arange(WINDOW) - half
    k = np.arange(1, HARMONICS + 1)
    harmonics = np.full((frames, HARMONICS), np.nan)
    residual = chunks.copy()
    for pitch in np.unique(f0_held[f0_held > 0]):
        rows = np.nonzero(f0_held == pitch)[0]
        live = k * pitch < TOP_HZ
        basis = np.exp(2j * np.pi * np.outer(n, k[live] * pitch) / RATE)     # (WINDOW, live)
        coefficients = (chunks[rows] * window) @ basis.conj() * (2 / window.sum())
        harmonics[np.ix_(rows, np.nonzero(live)[0])] = np.abs(coefficients)
        residual[rows] -= (coefficients @ basis.T).real
    power = np.abs(np.fft.rfft(residual * window, axis=1)) ** 2
    bands = band_of_bins(WINDOW)
    noise = np.zeros((frames, BANDS))
    for band in range(BANDS):
        noise[:, band] = power[:, bands == band].mean(axis=1)
    noise = np.sqrt(noise / np.sum(window ** 2))
    return {"f0": f0.astype(np.float32), "f0_held": f0_held.astype(np.float32),
            "loudness_db": loudness_db(audio, frames).astype(np.float32),
            "harmonics": harmonics.astype(np.float32), "noise": noise.astype(np.float32)}


def controls_of(harmonics: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(amplitude, distribution, noise) for the synthesizer from measured harmonic amplitudes."""
    amps = np.nan_to_num(harmonics)
    amplitude = amps.sum(axis=-1)
    distribution = amps / np.maximum(amplitude[..., None], 1e-12)
    return amplitude, distribution, noise
