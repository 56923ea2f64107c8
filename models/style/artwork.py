"""Style images the project generates itself (so their licence is the project's,
Apache-2.0): deterministic from a seed, no file needed."""
from __future__ import annotations

import numpy as np


def mosaic(size: int = 512, cells: int = 90, seed: int = 3) -> np.ndarray:
    """Stained glass: Voronoi cells in saturated colours with dark lead lines."""
    import cv2

    rng = np.random.default_rng(seed)
    points = rng.random((cells, 2)) * size
    palette = np.array([[200, 30, 40], [240, 180, 20], [30, 90, 200], [20, 150, 90],
                        [120, 40, 160], [240, 120, 30], [30, 170, 200]], np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    d = (yy[..., None] - points[:, 1]) ** 2 + (xx[..., None] - points[:, 0]) ** 2
    nearest = np.argsort(d, axis=-1)[..., :2]
    d_sorted = np.take_along_axis(d, nearest, -1)
    colours = palette[rng.integers(0, len(palette), cells)] * rng.uniform(0.7, 1.1, (cells, 1))
    image = colours[nearest[..., 0]]
    edge = np.sqrt(d_sorted[..., 1]) - np.sqrt(d_sorted[..., 0]) < 5.0
    image[edge] = (25, 20, 20)
    grain = rng.normal(0, 12, (size, size, 1))
    image = cv2.GaussianBlur(np.clip(image + grain, 0, 255).astype(np.uint8), (3, 3), 0)
    return image


def ink_waves(size: int = 512, seed: int = 5) -> np.ndarray:
    """Woodblock-like waves: bands of Prussian blue on cream, with fine lines."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    phase = rng.uniform(0, 2 * np.pi, 3)
    field = (np.sin(2 * np.pi * (3 * xx + 0.8 * np.sin(2 * np.pi * 2 * yy + phase[0])))
             + 0.6 * np.sin(2 * np.pi * (7 * yy + 0.5 * np.sin(2 * np.pi * 3 * xx + phase[1])))
             + 0.3 * np.sin(2 * np.pi * (19 * (xx + yy) + phase[2])))
    levels = np.digitize(field, [-1.0, -0.3, 0.4, 1.1])
    palette = np.array([[20, 40, 90], [40, 80, 140], [110, 150, 190], [235, 225, 200], [250, 245, 230]],
                       np.float32)
    image = palette[levels]
    lines = (np.sin(2 * np.pi * 60 * (field / 4 + yy)) > 0.85)
    image[lines] *= 0.55
    return np.clip(image, 0, 255).astype(np.uint8)


GENERATED = {"mosaic": mosaic, "ink_waves": ink_waves}
