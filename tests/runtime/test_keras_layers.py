"""The Keras layers shipped models are made of (engine/runtime/layers.py)."""

import numpy as np
import pytest

pytest.importorskip("keras")


def test_hint_spread_carries_a_hints_colour_to_its_neighbourhood_with_a_confidence():
    from engine.runtime.layers import HintSpread
    hints = np.zeros((1, 64, 64, 3), np.float32)
    hints[0, 30:34, 30:34] = (0.5, -0.25, 1.0)                 # one 4 x 4 hint
    out = np.asarray(HintSpread(4, blurs=2)(hints))[0]          # a 16 x 16 grid
    assert out.shape == (16, 16, 3)
    assert np.allclose(out[8, 8, :2], (0.5, -0.25), atol=0.03)  # its colour, hardly diluted
    a, b, confidence = out[12, 12]                              # further: the same hue, fading
    assert a > 0.05 and abs(a / b + 2) < 0.01 and confidence < out[8, 8, 2]
    assert np.allclose(out[0, 0], 0, atol=1e-3)                 # far away: no colour, no confidence
