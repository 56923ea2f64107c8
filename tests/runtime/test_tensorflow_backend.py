"""The GPU path (XLA + float16) checked on the CPU against the float32 model."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from engine.runtime.models import load_image_model  # noqa: E402
from engine.runtime.tensorflow_backend import TensorFlowModel  # noqa: E402


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    import keras

    from models.bench.convnet import build
    keras.utils.set_random_seed(3)
    path = tmp_path_factory.mktemp("model") / "style.keras"
    build(size=64).save(path)
    return path


def test_xla_float16_matches_float32(keras_file):
    frame = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    reference = TensorFlowModel(keras_file, xla=False, float16=False).run_image(frame)
    fast = TensorFlowModel(keras_file, xla=True, float16=True)
    assert fast.model.layers[1].dtype_policy.name == "mixed_float16"
    assert psnr(fast.run_image(frame), reference) >= 30.0


def test_a_keras_model_with_no_tflite_beside_it_runs_on_tensorflow_on_a_cpu(keras_file):
    model, why = load_image_model(keras_file, gpu=False)
    assert model.backend == "tensorflow"
    assert why == "no GPU and no .tflite beside the model: TensorFlow on the CPU"
    assert model.expect_image() == (64, 64)
