"""Lab colour for the colorization node and its training: lightness, the a and
b channels, and hint planes. OpenCV's float Lab: L in 0..100, a and b about
-110..110 (divided by AB_SCALE they are the network's [-1, 1])."""

from __future__ import annotations

import cv2
import numpy as np

AB_SCALE = 110.0


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> float32 Lab."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def from_lab(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """L (H, W) in 0..100 and ab (H, W, 2) -> uint8 RGB."""
    lab = np.concatenate([lightness[..., None], ab], axis=-1).astype(np.float32)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def rgb_to_ab(r: float, g: float, b: float) -> tuple[float, float]:
    """A colour in 0..1 -> its a and b."""
    lab = cv2.cvtColor(np.array([[[r, g, b]]], np.float32), cv2.COLOR_RGB2Lab)[0, 0]
    return float(lab[1]), float(lab[2])


def hint_planes(height: int, width: int, hints) -> np.ndarray:
    """(H, W, 3) float32: a / AB_SCALE, b / AB_SCALE and a mask, from hints
    (x, y in 0..1, a, b, radius in pixels of this size, weight 0..1); a hint
    is a filled square, as in training."""
    planes = np.zeros((height, width, 3), np.float32)
    for x, y, a, b, radius, weight in hints:
        cx, cy = int(round(x * (width - 1))), int(round(y * (height - 1)))
        r = max(0, int(round(radius)))
        y0, y1, x0, x1 = max(0, cy - r), min(height, cy + r + 1), max(0, cx - r), min(width, cx + r + 1)
        planes[y0:y1, x0:x1] = (a / AB_SCALE, b / AB_SCALE, weight)
    return planes
