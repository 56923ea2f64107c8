"""Colorization by optimization (Levin, Lischinski and Weiss 2004), the
classical way to spread colour hints: every pixel's colour is the weighted
mean of its 3 x 3 neighbours', with weights that fall with the difference in
lightness, and hinted pixels keep their colour. One sparse linear solve per
colour channel (scipy). The baseline `eval colorize` measures the network's
hints against."""
from __future__ import annotations

import numpy as np

from engine.runtime.color import from_lab, rgb_to_ab, to_lab


def levin_colorize(rgb: np.ndarray, hints, radius_px: int, eps: float = 1e-4) -> np.ndarray:
    """uint8 RGB with its colour replaced by the hints' (x, y, r, g, b, _)
    spread over the lightness of `rgb`."""
    import scipy.sparse as sparse
    import scipy.sparse.linalg as linalg

    lab = to_lab(rgb)
    lightness = lab[..., 0] / 100.0
    h, w = lightness.shape
    n = h * w
    index = np.arange(n).reshape(h, w)
    known = np.zeros((h, w), bool)
    values = np.zeros((h, w, 2), np.float64)
    for x, y, r, g, b, _ in hints:
        cx, cy = int(round(x * (w - 1))), int(round(y * (h - 1)))
        ys, xs = slice(max(0, cy - radius_px), cy + radius_px + 1), slice(max(0, cx - radius_px), cx + radius_px + 1)
        known[ys, xs] = True
        values[ys, xs] = rgb_to_ab(r, g, b)
    rows, cols, data = [], [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            y0, y1 = max(0, -dy), h - max(0, dy)
            x0, x1 = max(0, -dx), w - max(0, dx)
            centre = index[y0:y1, x0:x1].ravel()
            neighbour = index[y0 + dy:y1 + dy, x0 + dx:x1 + dx].ravel()
            rows.append(centre)
            cols.append(neighbour)
            data.append(np.abs(lightness.ravel()[centre] - lightness.ravel()[neighbour]))
    rows, cols, diff = np.concatenate(rows), np.concatenate(cols), np.concatenate(data)
    # sigma: the variance of lightness in each window, approximated by the mean squared difference there.
    var = np.bincount(rows, diff ** 2, n) / np.maximum(np.bincount(rows, None, n), 1)
    weights = np.exp(-diff ** 2 / (2 * np.maximum(var[rows], eps)))
    weights /= np.bincount(rows, weights, n)[rows]
    free = ~known.ravel()
    # Row r: U(r) - sum_s w_rs U(s) = 0 for a free pixel; U(r) = hint for a hinted one.
    a = sparse.csr_matrix((-weights * free[rows], (rows, cols)), shape=(n, n)) + sparse.identity(n, format="csr")
    out = np.zeros((n, 2))
    for channel in range(2):
        b = np.where(free, 0.0, values[..., channel].ravel())
        out[:, channel] = linalg.spsolve(a.tocsc(), b)
    return from_lab(lab[..., 0], out.reshape(h, w, 2).astype(np.float32))
