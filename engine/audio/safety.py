"""Speaker safety: what stands between the graph and a speaker, always on.

Per block, vectorized: non-finite samples turn the block to silence (counted);
DC is removed; the master gain glides; a feedback guard ducks a narrow peak that
keeps growing (mic-to-speaker howl) and reports it; sound fades in at start and
after any silence forced by an error; a peak limiter keeps every sample under
the ceiling (gain drops at once, recovers over `release_s`); a final clip is the
brickwall behind it all. Mute ramps to silence within one block.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


class FeedbackGuard:
    """Finds howl: one spectral peak far above the rest that stays on the same
    frequency and keeps growing, window after window. A steady tone (a synth, a
    test tone) does not grow, and a sudden jump grows once, so both are left
    alone (the limiter handles the jump)."""

    WINDOW_S = 0.05

    def __init__(self, sample_rate: int, ratio_db: float = 25.0, rising_windows: int = 4,
                 rise_db: float = 0.5, growth_db: float = 6.0, duck_db: float = -24.0,
                 release_s: float = 2.0) -> None:
        self.sample_rate = sample_rate
        self.ratio_db, self.rising_windows, self.rise_db, self.growth_db = ratio_db, rising_windows, rise_db, growth_db
        self.duck_gain = db_to_gain(duck_db)
        self.release_s = release_s
        self.gain = 1.0
        self.events = 0
        self._bin = -10
        self._start_db = 0.0
        self._window_s = 0.0
        self._window_db = -200.0
        self._last_window_db: float | None = None
        self._streak = 0
        self._clear_s = 0.0

    def check(self, mono: np.ndarray) -> tuple[float, float | None]:
        """(gain to apply to this block, frequency of howl newly found or None)."""
        seconds = len(mono) / self.sample_rate
        spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
        peak_bin = int(np.argmax(spectrum[1:])) + 1
        ratio_db = 20 * math.log10((spectrum[peak_bin] + 1e-12) / (float(np.median(spectrum)) + 1e-9))
        level_db = 20 * math.log10(float(np.sqrt(np.mean(mono * mono))) + 1e-12)
        found = None
        if ratio_db >= self.ratio_db and level_db > -60 and abs(peak_bin - self._bin) <= 1:
            self._clear_s = 0.0 if self.gain < 1.0 else self._clear_s
            self._window_s += seconds
            self._window_db = max(self._window_db, level_db)
            if self._window_s >= self.WINDOW_S:
                if self._last_window_db is not None:
                    rising = self._window_db - self._last_window_db >= self.rise_db
                    self._streak = self._streak + 1 if rising else 0
                self._last_window_db, self._window_s, self._window_db = self._window_db, 0.0, -200.0
                grown = (self._last_window_db or 0.0) - self._start_db
                if self._streak >= self.rising_windows and grown >= self.growth_db and self.gain == 1.0:
                    self.gain = self.duck_gain
                    self.events += 1
                    found = peak_bin * self.sample_rate / len(mono)
        else:
            self._bin, self._start_db = peak_bin, level_db
            self._window_s, self._window_db, self._last_window_db, self._streak = 0.0, -200.0, None, 0
            self._clear_s += seconds
        if self.gain < 1.0 and self._clear_s > 1.0:  # howl gone for a second: come back slowly
            self.gain = min(1.0, self.gain + seconds / self.release_s)
        return self.gain, found


class SpeakerSafety:
    def __init__(self, sample_rate: int, channels: int, ceiling_db: float = -1.0, fade_s: float = 0.05,
                 release_s: float = 0.2, on_feedback: Callable[[float], None] | None = None) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self.ceiling = db_to_gain(ceiling_db)
        self.fade_frames = max(1, int(fade_s * sample_rate))
        self.release_s = release_s
        self.on_feedback = on_feedback
        self.feedback = FeedbackGuard(sample_rate)
        self.nonfinite_blocks = 0
        self.limited_blocks = 0
        self._fade_pos = 0            # frames into the fade-in; == fade_frames when done
        self._limiter_gain = 1.0
        self._master = 1.0
        self._dc: np.ndarray | None = None

    def restart_fade(self) -> None:
        """After a gap (start, underflow, error): come back in over `fade_s`."""
        self._fade_pos = 0

    def process(self, block: np.ndarray, gain: float = 1.0, mute: bool = False) -> np.ndarray:
        frames = len(block)
        seconds = frames / self.sample_rate
        out = np.asarray(block, dtype=np.float32).reshape(frames, -1).copy()
        if not np.isfinite(out).all():
            self.nonfinite_blocks += 1
            self.restart_fade()
            return np.zeros_like(out)
        # DC: subtract a slowly tracked mean (a ~0.3 Hz high-pass, block by block).
        if self._dc is None or self._dc.shape[0] != out.shape[1]:
            self._dc = np.zeros(out.shape[1], dtype=np.float32)
        self._dc += (out.mean(axis=0) - self._dc) * np.float32(1.0 - math.exp(-seconds / 0.5))
        out -= self._dc
        # Master gain (and mute) glide across the block.
        target = 0.0 if mute else gain
        ramp = np.linspace(self._master, target, frames, endpoint=False, dtype=np.float32)[:, None] \
            if target != self._master else np.float32(target)
        self._master = target
        out *= ramp
        if mute and target == 0.0:
            self.restart_fade()
        # Howl.
        duck, howl_hz = self.feedback.check(out.mean(axis=1))
        if duck < 1.0:
            out *= duck
        if howl_hz is not None and self.on_feedback is not None:
            self.on_feedback(howl_hz)
        # Fade in.
        if self._fade_pos < self.fade_frames:
            positions = np.arange(self._fade_pos, self._fade_pos + frames, dtype=np.float32)
            out *= np.minimum(1.0, positions / self.fade_frames)[:, None]
            self._fade_pos = min(self.fade_frames, self._fade_pos + frames)
        # Limiter: gain drops at once to what this block needs, recovers slowly.
        peak = float(np.max(np.abs(out))) if frames else 0.0
        needed = self.ceiling / peak if peak > self.ceiling else 1.0
        released = self._limiter_gain + (1.0 - self._limiter_gain) * (1.0 - math.exp(-seconds / self.release_s))
        new = min(needed, released)
        if new < 1.0:
            self.limited_blocks += 1
        if new > self._limiter_gain:   # rising: ramp (every value stays <= new <= needed)
            out *= np.linspace(self._limiter_gain, new, frames, dtype=np.float32)[:, None]
        elif new < 1.0:
            out *= np.float32(new)
        self._limiter_gain = new
        np.clip(out, -self.ceiling, self.ceiling, out=out)
        return out
