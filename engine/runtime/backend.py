"""Which backend runs a model file, and the one error every model failure raises.

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
from pathlib import Path

LITERT, TENSORFLOW = "litert", "tensorflow"
BACKENDS = ("auto", LITERT, TENSORFLOW)
MODEL_SUFFIXES = (".tflite", ".keras")     # and SavedModel folders


class ModelError(ValueError):
    """A model that cannot be used, named with its file and what is wrong."""


def nvidia_gpu_present() -> bool:
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir() and any(gpus.iterdir()):
        return True
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "GPU" in out


def is_model_path(path: Path) -> bool:
    """A file or folder a model loader can read (by its name and shape, not its content)."""
    return path.suffix in MODEL_SUFFIXES or (path.is_dir() and (path / "saved_model.pb").exists())


def choose_backend(path: Path, forced: str = "auto", gpu: bool | None = None) -> tuple[str, Path, str]:
    """(backend, file to load, why) for a model path."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    is_tflite = path.suffix == ".tflite"
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    if not is_model_path(path):
        raise ModelError(f"{path}: not a model file tensorstage can load (.tflite, .keras or a SavedModel folder)")
    if forced == LITERT:
        if is_tflite:
            return LITERT, path, "LiteRT forced by the patch"
        sibling = tflite_beside(path)
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
    sibling = tflite_beside(path)
    if sibling is not None:
        return LITERT, sibling, f"no GPU: LiteRT with {sibling.name} beside the .keras (int8 preferred)"
    return TENSORFLOW, path, "no GPU and no .tflite beside the model: TensorFlow on the CPU"


def tflite_beside(path: Path) -> Path | None:
    stem = path.stem if path.is_file() else path.name
    for name in (f"{stem}_int8.tflite", f"{stem}_fp16.tflite", f"{stem}.tflite"):
        candidate = path.parent / name
        if candidate.exists():
            return candidate
    return None
