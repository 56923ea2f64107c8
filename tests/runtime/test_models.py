from pathlib import Path

import numpy as np
import pytest

from engine.runtime.backend import LITERT, TENSORFLOW, ModelError, choose_backend
from engine.runtime.litert import LiteRTModel
from engine.runtime.models import load_image_model

REPO = Path(__file__).resolve().parents[2]
CONVNET = REPO / "models" / "bench" / "convnet_int8.tflite"
DENSE = Path(__file__).parent / "data" / "dense_10.tflite"


def touch(path: Path) -> Path:
    path.write_bytes(b"x")
    return path


def test_backend_choice(tmp_path):
    keras_file = touch(tmp_path / "style.keras")
    assert choose_backend(CONVNET, gpu=False)[:2] == (LITERT, CONVNET)
    assert choose_backend(keras_file, gpu=True)[0] == TENSORFLOW
    assert choose_backend(keras_file, gpu=False)[0] == TENSORFLOW          # nothing beside it
    fp16 = touch(tmp_path / "style_fp16.tflite")
    assert choose_backend(keras_file, gpu=False)[1] == fp16
    int8 = touch(tmp_path / "style_int8.tflite")
    backend, chosen, why = choose_backend(keras_file, gpu=False)
    assert (backend, chosen) == (LITERT, int8)
    assert why == "no GPU: LiteRT with style_int8.tflite beside the .keras (int8 preferred)"
    assert choose_backend(keras_file, forced="litert", gpu=True)[1] == int8
    assert choose_backend(keras_file, forced="tensorflow", gpu=False)[0] == TENSORFLOW


@pytest.mark.parametrize("name, forced, message", [
    ("missing.tflite", "auto", "{p}: no such model file"),
    ("notes.txt", "auto", "{p}: not a model file tensorstage can load (.tflite, .keras or a SavedModel folder)"),
    ("m.tflite", "tensorflow", "{p}: TensorFlow was forced but a .tflite file runs on LiteRT only"),
    ("m.keras", "litert", "{p}: LiteRT was forced but there is no .tflite beside it"),
])
def test_backend_choice_errors(tmp_path, name, forced, message):
    path = tmp_path / name
    if name != "missing.tflite":
        touch(path)
    with pytest.raises(ModelError) as error:
        choose_backend(path, forced, gpu=False)
    assert str(error.value) == message.format(p=path)


def test_a_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelError) as error:
        LiteRTModel(bad)
    assert str(error.value).startswith(f"{bad}: not a TFLite model LiteRT can read (")


def test_a_model_of_the_wrong_shape_is_named():
    with pytest.raises(ModelError) as error:
        load_image_model(DENSE, gpu=False)
    assert str(error.value) == f"{DENSE}: input is [1, 10] float32; an image model needs [1, height, width, 3]"


def test_an_int8_image_model_runs():
    model, why = load_image_model(CONVNET, threads=1, gpu=False)
    assert why == "a .tflite file runs on LiteRT (CPU, XNNPACK)"
    assert model.expect_image() == (256, 256)
    out = model.run_image(np.full((256, 256, 3), 100, np.uint8))
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
