import numpy as np
import pytest

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.processors.fit import fit_frame

WIDE = np.full((100, 200, 3), 200, np.uint8)   # 2:1


def test_letterbox_keeps_the_aspect_with_black_bars():
    out = fit_frame(WIDE, 100, 100, "letterbox")
    assert out.shape == (100, 100, 3)
    assert (out[:20] == 0).all() and (out[-20:] == 0).all()    # bars above and below
    assert (out[30:70] == 200).all()


def test_crop_fills_and_stretch_distorts():
    assert (fit_frame(WIDE, 100, 100, "crop") == 200).all()
    assert fit_frame(WIDE, 50, 100, "stretch").shape == (100, 50, 3)


def test_the_same_size_is_returned_untouched():
    assert fit_frame(WIDE, 200, 100) is WIDE


@pytest.mark.parametrize("mode", ["letterbox", "crop", "stretch"])
def test_fit_node(mode):
    with NodeHarness("fit", options={"width": 64, "height": 48, "mode": mode}) as node:
        out = node.feed(video=Packet(WIDE, 9))["video"]
    assert out.value.shape == (48, 64, 3) and out.ts_us == 9
