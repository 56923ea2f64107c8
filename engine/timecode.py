"""A machine-readable timestamp burned into a frame, and its decoder.

The top band of the frame is split into 64 equal cells, each black (0) or white
(1): two sync cells (1, 0), the 48 low bits of the engine time in microseconds
(most significant first), an even-parity cell, then alternating filler. Cells are
sized relative to the frame, so the code survives scaling, compression and a
screen grab of the window; the decoder checks sync and parity and says None
rather than guess.
"""

from __future__ import annotations

import numpy as np

CELLS = 64
DATA_BITS = 48
_SYNC = (1, 0)
_FILLER = tuple(i % 2 for i in range(CELLS - len(_SYNC) - DATA_BITS - 1))
_MASK = (1 << DATA_BITS) - 1


def age_ms(stamp_us: int, later_us: int) -> float:
    """Milliseconds from a burned stamp (its 48 low bits) to a later engine time."""
    return ((later_us - stamp_us) & _MASK) / 1000


def band_height(height: int) -> int:
    return max(8, height // 30)


def _bits(ts_us: int) -> np.ndarray:
    value = ts_us & _MASK
    data = [(value >> (DATA_BITS - 1 - i)) & 1 for i in range(DATA_BITS)]
    return np.array(list(_SYNC) + data + [sum(data) % 2] + list(_FILLER), dtype=np.uint8)


def burn(frame: np.ndarray, ts_us: int) -> None:
    """Write `ts_us` into the top band of `frame` (uint8, HxWx3), in place."""
    height, width = frame.shape[:2]
    cell_of_column = (np.arange(width) * CELLS) // width
    frame[: band_height(height)] = (_bits(ts_us)[cell_of_column] * 255)[None, :, None]


def read(frame: np.ndarray) -> int | None:
    """The timestamp burned into `frame` (the frame's own area), or None."""
    height, width = frame.shape[:2]
    band = band_height(height)
    rows = frame[band // 4: max(band // 4 + 1, (3 * band) // 4)].astype(np.float64)
    if rows.ndim == 3:
        rows = rows[..., :3].mean(axis=2)  # a screen grab may carry alpha
    edges = (np.arange(CELLS + 1) * width) / CELLS
    bits = []
    for i in range(CELLS):
        left = int(edges[i] + (edges[i + 1] - edges[i]) * 0.3)
        right = max(left + 1, int(edges[i] + (edges[i + 1] - edges[i]) * 0.7))
        bits.append(1 if rows[:, left:right].mean() > 127 else 0)
    if tuple(bits[:2]) != _SYNC or tuple(bits[2 + DATA_BITS + 1:]) != _FILLER:
        return None
    data = bits[2: 2 + DATA_BITS]
    if sum(data) % 2 != bits[2 + DATA_BITS]:
        return None
    value = 0
    for bit in data:
        value = (value << 1) | bit
    return value
