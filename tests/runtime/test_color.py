"""Hint spreading and palette mapping of the colorize node (engine/runtime/color.py)."""

import numpy as np

from engine.runtime.color import AB_SCALE, hint_planes, map_to_palette, palette_lab, rgb_to_ab, spread_hints


def two_regions(size=64):
    """Lightness: dark left half, bright right half."""
    lightness = np.full((size, size), 0.2, np.float32)
    lightness[:, size // 2:] = 0.8
    return lightness


def test_a_hint_colours_its_region_and_stops_at_the_edge():
    lightness = two_regions()
    base = np.zeros((64, 64, 2), np.float32)
    a, b = rgb_to_ab(1.0, 0.0, 0.0)
    planes = hint_planes(64, 64, [(0.1, 0.5, a, b, 1, 1.0)])
    out = spread_hints(lightness, planes, base)
    left, right = out[:, 4:28], out[:, 36:60]
    assert np.abs(left[..., 0] - a / AB_SCALE).mean() < 0.15 * a / AB_SCALE      # red across the dark half
    assert np.abs(right).mean() < 0.2 * np.abs(left).mean()                      # little across the edge


def test_without_hints_the_networks_colour_is_left_alone():
    base = np.random.default_rng(0).uniform(-0.5, 0.5, (16, 16, 2)).astype(np.float32)
    assert spread_hints(two_regions(16), np.zeros((16, 16, 3), np.float32), base) is base


def test_where_no_hint_reaches_the_networks_colour_stays():
    size = 160
    lightness = np.full((size, size), 0.5, np.float32)
    base = np.zeros((size, size, 2), np.float32)
    base[:, :, 1] = np.linspace(-0.2, 0.2, size)[None, :]          # the network's gradient
    a, b = rgb_to_ab(0.0, 0.0, 1.0)
    out = spread_hints(lightness, hint_planes(size, size, [(0.05, 0.5, a, b, 1, 1.0)]), base)
    assert abs(out[80, 8, 1] - b / AB_SCALE) < 0.05                  # at the hint: the hint's colour
    assert np.array_equal(out[:, 80:], base[:, 80:])                 # beyond the widest radius: untouched


def test_a_palette_paints_by_lightness_where_the_network_is_unsure_and_by_hue_where_it_is_sure():
    palette = palette_lab([(0.1, 0.1, 0.6), (1.0, 0.6, 0.1)])         # dark blue, bright orange
    lightness = two_regions()
    grey = np.zeros((64, 64, 2), np.float32)
    out = map_to_palette(lightness, grey, palette)
    assert np.allclose(out[:, :32], palette[0, 1:], atol=0.02)       # dark -> blue
    assert np.allclose(out[:, 32:], palette[1, 1:], atol=0.02)       # bright -> orange
    sure = np.broadcast_to(palette[1, 1:], (64, 64, 2)).copy()       # the network says orange everywhere
    out = map_to_palette(np.full((64, 64), 0.45, np.float32), sure, palette)
    assert np.allclose(out, palette[1, 1:], atol=0.05)
