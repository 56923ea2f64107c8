"""Colorization by optimization spreads a hint over what has its lightness
and stops at an edge."""

import numpy as np

from engine.runtime.color import to_lab
from models.colorize.baseline import levin_colorize


def test_a_hint_fills_its_region_and_stops_at_the_edge():
    rgb = np.full((40, 40, 3), 60, np.uint8)
    rgb[:, 20:] = 200                                                # a dark half and a light half
    out = levin_colorize(rgb, [(0.2, 0.5, 1.0, 0.0, 0.0, 0.0),      # red in the dark half
                               (0.8, 0.5, 0.0, 0.0, 1.0, 0.0)], 1)  # blue in the light half
    lab = to_lab(out)                  # judged in a and b: a light pure blue is out of the RGB gamut
    left, right = lab[:, :18, 1:].reshape(-1, 2).mean(axis=0), lab[:, 22:, 1:].reshape(-1, 2).mean(axis=0)
    assert left[0] > 30 and left[1] > 20                             # red: a and b up
    assert right[1] < -30                                            # blue: b down
