"""Loading a model file for a node: the backend chosen (engine/runtime/backend.py),
the runner built, and why, in one line the node reports.

LiteRT runners never import TensorFlow; the TensorFlow backend is imported only
when it was chosen (a GPU, or a `.keras` with no `.tflite` beside it).
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.runtime.backend import LITERT, TENSORFLOW, choose_backend, nvidia_gpu_present
from engine.runtime.litert import LiteRTModel, LiteRTRunner, LiteRTStyleModel


def load_image_model(path: Path, forced: str = "auto", threads: int = 1, gpu: bool | None = None):
    """A loaded image-to-image model and why its backend was chosen."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    backend, chosen, why = choose_backend(path, forced, gpu)
    if backend == TENSORFLOW:
        from engine.runtime.tensorflow_backend import TensorFlowModel
        model = TensorFlowModel(chosen, xla=gpu, float16=gpu)
    else:
        model = LiteRTModel(chosen, threads)
    model.expect_image()
    return model, why


def load_style_model(path: Path, forced: str = "auto", threads: int = 1, gpu: bool | None = None):
    """(model, why): LiteRT for a .tflite or a .keras on a CPU, TensorFlow with
    float16 and XLA for a .keras where an NVIDIA GPU is visible."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    backend, chosen, why = choose_backend(path, forced, gpu)
    if backend == LITERT:
        return LiteRTStyleModel(chosen, threads=threads), why
    from engine.runtime.tensorflow_backend import TensorFlowStyleModel
    return TensorFlowStyleModel(chosen, xla=gpu, float16=gpu), why


def load_runner(path: Path, contract, forced: str = "auto", threads: int = 1, gpu: bool | None = None):
    """(runner, why) for any model with a tensor contract: LiteRTRunner on a
    CPU, TensorFlowRunner (float16 + XLA) where an NVIDIA GPU is visible."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    backend, chosen, why = choose_backend(path, forced, gpu)
    if backend == LITERT:
        return LiteRTRunner(chosen, contract, threads), why
    from engine.runtime.tensorflow_backend import TensorFlowRunner
    return TensorFlowRunner(chosen, contract, xla=gpu, float16=gpu), why


def card_beside(model_path: Path) -> dict:
    """The JSON card of a model (`style.json` for style_int8_320.tflite), or {}."""
    stem = model_path.stem if model_path.suffix else model_path.name
    for variant in ("_int8", "_fp16"):
        stem = stem.split(variant)[0]
    try:
        card = json.loads((model_path.parent / f"{stem}.json").read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def style_names(model_path: Path) -> list[str]:
    try:
        return [str(s["name"]) for s in card_beside(model_path)["styles"]]
    except (KeyError, TypeError):
        return []
