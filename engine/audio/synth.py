"""A harmonic-plus-noise synthesizer (the DDSP synthesizer, run block by block).

Per block it takes the controls at the block's end (f0, overall amplitude, a
distribution over `harmonics` harmonics, `bands` noise band gains) and glides
to them from the previous block's, sample by sample, so nothing steps.

- Phase is one fundamental phase in cycles, float64, wrapped to [0, 1) every
  block; harmonic k's phase is k times it, wrapped again. No accumulator grows,
  so partials cannot drift out of tune over hours (tests/audio/test_synth.py
  runs 8 simulated hours against exact arithmetic).
- Harmonics at or above `top_hz` (at most Nyquist) fade out over the last 5 %
  below it and the distribution is renormalised without them, as DDSP does.
- Noise is white noise shaped per block in the frequency domain by the band
  gains (linear bands over 0..`noise_top_hz`), windowed by a sine window over
  two blocks and overlap-added at half a window: the window's squares sum to
  one, so the noise level holds steady and no block edge clicks.

Controls are linear: `amplitude` is the sum of the harmonics' peak amplitudes,
a band gain g makes white noise of unit variance into noise of variance g^2 in
that band. `models/timbre/analysis.py` measures them from recordings the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Controls:
    f0_hz: float
    amplitude: float
    harmonics: np.ndarray      # (H,) distribution, sums to 1 (or all zero)
    noise: np.ndarray          # (B,) band gains

    @classmethod
    def silent(cls, harmonics: int, bands: int, f0_hz: float = 0.0) -> "Controls":
        return cls(f0_hz, 0.0, np.zeros(harmonics), np.zeros(bands))


def advance_phase(phase: float, f0_start: float, f0_end: float, frames: int, rate: int) -> tuple[np.ndarray, float]:
    """Fundamental phase (cycles, float64) at each of `frames` samples while f0
    glides linearly from f0_start to f0_end, and the wrapped phase after them."""
    return phases_along(phase, np.linspace(f0_start, f0_end, frames, endpoint=False, dtype=np.float64), rate)


def phases_along(phase: float, f0: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """The phase at each sample of an f0 curve (Hz per sample), and the wrapped phase after it."""
    phases = phase + np.cumsum(f0) / rate
    return phases, float(phases[-1] % 1.0)


class HarmonicNoiseSynth:
    def __init__(self, sample_rate: int, block: int, harmonics: int = 60, bands: int = 65,
                 top_hz: float | None = None, noise_top_hz: float | None = None, seed: int | None = None) -> None:
        self.rate, self.block = int(sample_rate), int(block)
        self.harmonics, self.bands = int(harmonics), int(bands)
        nyquist = sample_rate / 2
        self.top_hz = min(top_hz or nyquist, nyquist)
        self.noise_top_hz = min(noise_top_hz or nyquist, nyquist)
        self._k = np.arange(1, self.harmonics + 1, dtype=np.float64)
        self._ramp = (np.arange(1, self.block + 1, dtype=np.float64) / self.block)[:, None]
        # Noise: frames of two blocks, hop one block; sin window, sum of squares 1.
        size = 2 * self.block
        self.noise_window = np.sin(np.pi * (np.arange(size) + 0.5) / size)
        bins = np.fft.rfftfreq(size, 1 / sample_rate)
        # (bins, bands) linear interpolation between band centres; nothing above noise_top_hz.
        self.noise_band_to_bin = np.zeros((len(bins), self.bands))
        inside = bins <= self.noise_top_hz
        position = bins[inside] / self.noise_top_hz * (self.bands - 1)
        low = np.minimum(position.astype(int), self.bands - 2)
        frac = position - low
        rows = np.nonzero(inside)[0]
        self.noise_band_to_bin[rows, low] = 1 - frac
        self.noise_band_to_bin[rows, low + 1] = frac
        self._rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self.phase = 0.0
        self._previous = Controls.silent(self.harmonics, self.bands)
        self._previous_amps = np.zeros(self.harmonics)
        self._noise_tail = np.zeros(self.block)

    def _harmonic_amplitudes(self, controls: Controls) -> np.ndarray:
        """Per-harmonic peak amplitudes, without those at or above top_hz, renormalised."""
        if controls.f0_hz <= 0 or controls.amplitude <= 0:
            return np.zeros(self.harmonics)
        distribution = np.where(self._k * controls.f0_hz < self.top_hz, controls.harmonics, 0.0)
        total = distribution.sum()
        return distribution * (controls.amplitude / total) if total > 0 else np.zeros(self.harmonics)

    def render(self, controls: Controls) -> np.ndarray:
        """One block (float32, mono) gliding from the last block's controls to these."""
        previous = self._previous
        # Hold the pitch through silence: a note starting from 0 Hz would sweep up.
        f0_end = controls.f0_hz if controls.f0_hz > 0 else previous.f0_hz
        f0_start = previous.f0_hz if previous.f0_hz > 0 else f0_end
        controls = Controls(f0_end, controls.amplitude, np.asarray(controls.harmonics, np.float64),
                            np.asarray(controls.noise, np.float64))
        amps_end = self._harmonic_amplitudes(controls)
        out = np.zeros(self.block)
        if f0_end > 0:
            f0 = np.linspace(f0_start, f0_end, self.block, endpoint=False)
            phases, self.phase = phases_along(self.phase, f0, self.rate)
            # Only harmonics that sound at either end of the block (a third of them for a
            # violin's A: the cost follows what is heard).
            live = np.nonzero((amps_end > 1e-7) | (self._previous_amps > 1e-7))[0]
            if len(live):
                k = self._k[live]
                start, end = self._previous_amps[live], amps_end[live]
                amps = start + (end - start) * self._ramp                     # (block, live)
                # Fade a harmonic out over the last 5 % below top_hz as the pitch glides up to it.
                fade = np.clip((self.top_hz - f0[:, None] * k) / (0.05 * self.top_hz), 0.0, 1.0)
                # Wrapped in float64, then float32 is exact enough (1e-7 cycle) and twice as fast.
                cycles = ((phases[:, None] * k) % 1.0).astype(np.float32)
                out = np.einsum("ij,ij->i", amps * fade, np.sin(np.float32(2 * np.pi) * cycles))
        out += self._noise(controls.noise)
        self._previous, self._previous_amps = controls, amps_end
        return out.astype(np.float32)

    def _noise(self, gains: np.ndarray) -> np.ndarray:
        if not gains.any():
            head = self._noise_tail
            self._noise_tail = np.zeros(self.block)
            return head
        size = 2 * self.block
        spectrum = np.fft.rfft(self._rng.standard_normal(size)) * (self.noise_band_to_bin @ gains)
        frame = np.fft.irfft(spectrum, size) * self.noise_window
        head = self._noise_tail + frame[: self.block]
        self._noise_tail = frame[self.block:].copy()
        return head

    def latency_frames(self) -> int:
        """Controls reach the harmonics over one block (the glide) and the noise
        half a window late: one block."""
        return self.block
