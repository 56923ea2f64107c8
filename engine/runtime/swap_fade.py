"""A crossfade between the model a node had and the one a live reload gave it:
for `seconds`, both paint each frame and the new one fades in, so swapping
models mid-show is a dissolve, not a cut."""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from engine.clock import now_us

Painter = Callable[[np.ndarray], np.ndarray]


class SwapFade:
    def __init__(self) -> None:
        self.old: Painter | None = None
        self.start_us = 0
        self.seconds = 0.0

    def begin(self, old: Painter, seconds: float) -> None:
        if seconds > 0:
            self.old, self.start_us, self.seconds = old, now_us(), seconds

    def apply(self, frame: np.ndarray, painted: np.ndarray) -> np.ndarray:
        """`painted` by the new model, mixed with the old model's painting of `frame`."""
        if self.old is None:
            return painted
        progress = (now_us() - self.start_us) / 1e6 / self.seconds
        if progress >= 1.0:
            self.old = None            # the old model is released with its node
            return painted
        old = self.old(frame)
        if old.shape != painted.shape:
            return painted
        return cv2.addWeighted(painted, progress, old, 1.0 - progress, 0.0)
