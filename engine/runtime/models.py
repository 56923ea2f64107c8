"""Loading a model and choosing how to run it, with errors that name the file.

Backends, chosen at run time (or forced by the patch):
- LiteRT (`ai-edge-litert`, XNNPACK) on a CPU: `.tflite` files; for a `.keras`
  model on a CPU, the int8 `.tflite` beside it is preferred (`name_int8.tflite`,
  then `name_fp16.tflite`, then `name.tflite`). Never imports TensorFlow.
- TensorFlow with XLA and float16 where an NVIDIA GPU is visible: `.keras`
  files and SavedModel folders (engine/runtime/tensorflow_backend.py); on a CPU
  with no `.tflite` beside them, TensorFlow in float32.
GPU presence is read from the driver's files and `nvidia-smi`, not by importing
TensorFlow, so a CPU machine never pays for the import.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LITERT, TENSORFLOW = "litert", "tensorflow"


class ModelError(ValueError):
    """A model that cannot be used, named with its file and what is wrong."""


def nvidia_gpu_present() -> bool:
    if Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir()):
        return True
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "GPU" in out


def choose_backend(path: Path, forced: str = "auto", gpu: bool | None = None) -> tuple[str, Path, str]:
    """(backend, file to load, why) for a model path."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    is_tflite = path.suffix == ".tflite"
    is_tf = path.suffix == ".keras" or (path.is_dir() and (path / "saved_model.pb").exists())
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    if not (is_tflite or is_tf):
        raise ModelError(f"{path}: not a model file tensorstage can load (.tflite, .keras or a SavedModel folder)")
    if forced == LITERT:
        if is_tflite:
            return LITERT, path, "LiteRT forced by the patch"
        sibling = _tflite_beside(path)
        if sibling is None:
            raise ModelError(f"{path}: LiteRT was forced but there is no .tflite beside it")
        return LITERT, sibling, f"LiteRT forced by the patch; using {sibling.name}"
    if forced == TENSORFLOW:
        if is_tflite:
            raise ModelError(f"{path}: TensorFlow was forced but a .tflite file runs on LiteRT only")
        return TENSORFLOW, path, "TensorFlow forced by the patch"
    if is_tflite:
        return LITERT, path, "a .tflite file runs on LiteRT (CPU, XNNPACK)"
    if gpu:
        return TENSORFLOW, path, "an NVIDIA GPU is visible: TensorFlow with XLA and float16"
    sibling = _tflite_beside(path)
    if sibling is not None:
        return LITERT, sibling, f"no GPU: LiteRT with {sibling.name} beside the .keras (int8 preferred)"
    return TENSORFLOW, path, "no GPU and no .tflite beside the model: TensorFlow on the CPU"


def _tflite_beside(path: Path) -> Path | None:
    stem = path.stem if path.is_file() else path.name
    for name in (f"{stem}_int8.tflite", f"{stem}_fp16.tflite", f"{stem}.tflite"):
        candidate = path.parent / name
        if candidate.exists():
            return candidate
    return None


def to_tensor(detail: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """Float values into a LiteRT input: cast for a float tensor, quantized
    with the tensor's scale and zero point for an integer one."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return values.astype(dtype)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero), info.min, info.max).astype(dtype)


def from_tensor(detail: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """A LiteRT output as float32 (dequantized when it is an integer tensor)."""
    if np.dtype(values.dtype).kind == "f":
        return values.astype(np.float32)
    scale, zero = detail["quantization"]
    return (values.astype(np.float32) - zero) * scale


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0


class LiteRTModel:
    """One .tflite model on LiteRT; copies outputs out (no references into its buffers)."""

    backend = LITERT

    def __init__(self, path: Path, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise ModelError(f"{path}: LiteRT is not installed ({error}); pip install ai-edge-litert") from None
        self.path = path
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            text = str(error)
            if "op" in text.lower() and ("find" in text.lower() or "unsupported" in text.lower()):
                raise ModelError(f"{path}: uses an operation LiteRT cannot run ({text.splitlines()[0]})") from None
            raise ModelError(f"{path}: not a TFLite model LiteRT can read ({text.splitlines()[0]})") from None
        self.inputs = [self._spec(d) for d in self.interpreter.get_input_details()]
        self.outputs = [self._spec(d) for d in self.interpreter.get_output_details()]
        self._input_index = self.interpreter.get_input_details()[0]["index"]
        self._output_index = self.interpreter.get_output_details()[0]["index"]
        self.threads = threads

    @staticmethod
    def _spec(detail: dict[str, Any]) -> TensorSpec:
        scale, zero = detail.get("quantization", (0.0, 0))
        return TensorSpec(tuple(int(v) for v in detail["shape"]), np.dtype(detail["dtype"]).name, float(scale),
                          int(zero))

    def expect_image(self) -> tuple[int, int]:
        """(height, width) of an image-to-image model, or ModelError naming the mismatch."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise ModelError(f"{self.path}: has {len(self.inputs)} inputs and {len(self.outputs)} outputs; "
                             "an image model has one of each")
        for role, spec in (("input", self.inputs[0]), ("output", self.outputs[0])):
            if len(spec.shape) != 4 or spec.shape[0] != 1 or spec.shape[3] != 3:
                raise ModelError(f"{self.path}: {role} is {list(spec.shape)} {spec.dtype}; an image model "
                                 "needs [1, height, width, 3]")
            if spec.dtype not in ("uint8", "int8", "float32", "float16"):
                raise ModelError(f"{self.path}: {role} dtype {spec.dtype} is not uint8, int8 or float")
        return self.inputs[0].shape[1], self.inputs[0].shape[2]

    def run_image(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB (model size) in, uint8 RGB out."""
        spec = self.inputs[0]
        if spec.dtype == "uint8" and (spec.scale in (0.0, 1 / 255) or spec.zero_point == 0):
            tensor = rgb
        elif spec.dtype in ("float32", "float16"):
            tensor = rgb.astype(np.float32) / 255.0
        else:  # int8 (or uint8 with another scale): quantize 0..1 into it
            tensor = np.clip(np.round(rgb.astype(np.float32) / 255.0 / spec.scale + spec.zero_point),
                             np.iinfo(spec.dtype).min, np.iinfo(spec.dtype).max).astype(spec.dtype)
        self.interpreter.set_tensor(self._input_index, tensor[None])
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self._output_index)[0].copy()
        ospec = self.outputs[0]
        if ospec.dtype == "uint8" and ospec.zero_point == 0:
            return out
        values = out.astype(np.float32)
        if ospec.dtype in ("int8", "uint8"):
            values = (values - ospec.zero_point) * ospec.scale
        return np.clip(values * 255.0, 0, 255).astype(np.uint8)


def load_image_model(path: Path, forced: str = "auto", threads: int = 1, gpu: bool | None = None):
    """A loaded image-to-image model and why its backend was chosen."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    backend, chosen, why = choose_backend(path, forced, gpu)
    if backend == TENSORFLOW:
        from engine.runtime.tensorflow_backend import TensorFlowModel
        model = TensorFlowModel(chosen, xla=gpu, float16=gpu)
        model.expect_image()
        return model, why
    model = LiteRTModel(chosen, threads)
    model.expect_image()
    return model, why
