"""`tensorstage quantize`: real-frame calibration, a card with error and speed,
and the shipped style model's int8 and float16 files against its float model."""

import json

import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")

from engine.cli import main  # noqa: E402
from models.common.quantize import QuantizeError, quantize  # noqa: E402


@pytest.fixture(scope="module")
def photos_dir(tmp_path_factory):
    import cv2
    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field"):
        cv2.imwrite(str(folder / f"{name}.png"), getattr(skdata, name)()[..., ::-1])
    return folder


@pytest.fixture(scope="module")
def small_image_model(tmp_path_factory):
    import keras
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    path = tmp_path_factory.mktemp("model") / "small.keras"
    keras.Model(inputs, x).save(path)
    return path


@pytest.mark.parametrize("mode", ["int8", "dynamic", "fp16"])
def test_each_mode_writes_a_model_and_a_card(small_image_model, photos_dir, tmp_path, mode):
    out = tmp_path / f"small_{mode}.tflite"
    assert main(["quantize", str(small_image_model), "--mode", mode, "--calibration", str(photos_dir),
                 "--out", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["mode"] == mode and card["file_bytes"] == out.stat().st_size
    assert card["calibration_frames"] == 4 and card["error_frames"] == 1
    assert card["psnr_db"] > 25 and 0 <= card["relative_l2"] < 0.1 and card["p50_ms"] > 0


def test_calibration_needs_real_images(small_image_model, tmp_path):
    with pytest.raises(QuantizeError, match="no images"):
        quantize(small_image_model, "int8", calibration=tmp_path)
    with pytest.raises(QuantizeError, match="give an existing .keras model"):
        quantize(tmp_path / "missing.keras", "int8", calibration=tmp_path)


def test_the_shipped_style_model_int8_and_fp16_match_float_on_real_photos():
    import cv2
    import keras

    import models.style.network  # noqa: F401
    from engine.processors.style import SHIPPED
    from models.common.metrics import psnr
    from engine.runtime.litert import LiteRTStyleModel as StyleModel

    net = keras.models.load_model(SHIPPED)
    int8, fp16 = StyleModel(SHIPPED.with_name("style_int8.tflite")), StyleModel(SHIPPED.with_name("style_fp16.tflite"))
    scores = {"int8": [], "fp16": []}
    for name in ("chelsea", "rocket", "coffee"):
        image = getattr(skdata, name)()
        h, w = image.shape[:2]
        s = min(h, w)
        photo = cv2.resize(image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s], (256, 256),
                           interpolation=cv2.INTER_AREA)
        weights = np.array([0.5, 0.0, 0.5, 0.0], np.float32)
        reference = np.asarray(net({"image": photo[None] / np.float32(255), "style": weights[None]}))[0]
        scores["int8"].append(psnr(int8(photo, weights) / 255.0, reference))
        scores["fp16"].append(psnr(fp16(photo, weights) / 255.0, reference))
    assert np.mean(scores["int8"]) >= 30 and np.mean(scores["fp16"]) >= 40, scores
