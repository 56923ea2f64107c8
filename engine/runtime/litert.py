"""Running `.tflite` models on LiteRT (XNNPACK on the CPU).

Every failure becomes a `ModelError` naming the file. Outputs are copied out
of the interpreter: nothing may hold a reference into its buffers while it
runs (DESIGN: a `gc.get_objects()` from another thread killed a model thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.runtime.backend import LITERT, ModelError
from engine.runtime.contract import Role, TensorContract


def to_tensor(detail: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """Float values into a LiteRT input: cast for a float tensor, quantized
    with the tensor's scale and zero point for an integer one."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return values.astype(dtype, copy=False)        # set_tensor copies it anyway
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero), info.min, info.max).astype(dtype)


def from_tensor(detail: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """A LiteRT output as float32 (dequantized when it is an integer tensor)."""
    if np.dtype(values.dtype).kind == "f":
        return values.astype(np.float32, copy=False)    # get_tensor gave a copy already
    scale, zero = detail["quantization"]
    return (values.astype(np.float32) - zero) * scale


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0

    @classmethod
    def of(cls, detail: dict[str, Any]) -> "TensorSpec":
        scale, zero = detail.get("quantization", (0.0, 0))
        return cls(tuple(int(v) for v in detail["shape"]), np.dtype(detail["dtype"]).name, float(scale), int(zero))


def open_interpreter(path: Path, threads: int = 1):
    """A LiteRT interpreter with its tensors allocated, or ModelError naming the file."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise ModelError(f"{path}: LiteRT is not installed ({error}); pip install ai-edge-litert") from None
    if not Path(path).is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        text = (str(error).splitlines() or [type(error).__name__])[0]
        if "op" in text.lower() and ("find" in text.lower() or "unsupported" in text.lower()):
            raise ModelError(f"{path}: uses an operation LiteRT cannot run ({text})") from None
        raise ModelError(f"{path}: not a TFLite model LiteRT can read ({text})") from None
    return interpreter


def invoke(path: Path, interpreter) -> None:
    """interpreter.invoke(), with LiteRT's own errors named after the file."""
    try:
        interpreter.invoke()
    except (ValueError, RuntimeError) as error:
        raise ModelError(f"{path}: LiteRT failed to run it ({(str(error).splitlines() or [''])[0]})") from None


class LiteRTModel:
    """One image-to-image .tflite model; copies outputs out."""

    backend = LITERT

    def __init__(self, path: Path, threads: int = 1) -> None:
        self.path = Path(path)
        self.interpreter = open_interpreter(self.path, threads)
        self.inputs = [TensorSpec.of(d) for d in self.interpreter.get_input_details()]
        self.outputs = [TensorSpec.of(d) for d in self.interpreter.get_output_details()]
        self._input_index = self.interpreter.get_input_details()[0]["index"]
        self._output_index = self.interpreter.get_output_details()[0]["index"]
        self.threads = threads

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
        invoke(self.path, self.interpreter)
        out = self.interpreter.get_tensor(self._output_index)[0].copy()
        ospec = self.outputs[0]
        if ospec.dtype == "uint8" and ospec.zero_point == 0:
            return out
        values = out.astype(np.float32)
        if ospec.dtype in ("int8", "uint8"):
            values = (values - ospec.zero_point) * ospec.scale
        return np.clip(values * 255.0, 0, 255).astype(np.uint8)


class LiteRTRunner:
    """Any .tflite model whose tensors fit a `TensorContract`: float values in
    per role (quantized here when the tensor is an integer one), float32
    values out per role (dequantized, copied out of the interpreter)."""

    backend = LITERT

    def __init__(self, path: Path, contract: TensorContract, threads: int = 1) -> None:
        self.path, self.threads = Path(path), threads
        self.interpreter = open_interpreter(self.path, threads)
        ins, outs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        by_in, by_out = contract.match(self.path, [(d["name"], tuple(d["shape"])) for d in ins],
                                       [(d["name"], tuple(d["shape"])) for d in outs])
        self.input_details = {role: ins[i] for role, i in by_in.items()}
        self.output_details = {role: outs[i] for role, i in by_out.items()}

    def input_shape(self, role: str) -> tuple[int, ...]:
        return tuple(int(v) for v in self.input_details[role]["shape"])

    def run(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        for role, detail in self.input_details.items():
            self.interpreter.set_tensor(detail["index"], to_tensor(detail, np.asarray(inputs[role])))
        invoke(self.path, self.interpreter)
        return {role: from_tensor(detail, self.interpreter.get_tensor(detail["index"]))
                for role, detail in self.output_details.items()}


# An image and a vector of style weights in, an image of the same size out.
STYLE_CONTRACT = TensorContract(inputs=(Role("image", 4, (3,)), Role("style", 2)),
                                outputs=(Role("image", 4, (3,)),))


class LiteRTStyleModel:
    """An exported multi-style model on LiteRT: RGB uint8 and style weights in
    (any non-negative vector; normalised to sum to 1), RGB uint8 out."""

    backend = LITERT

    def __init__(self, path: Path, threads: int = 1):
        self.runner = LiteRTRunner(path, STYLE_CONTRACT, threads)
        self.path, self.threads = self.runner.path, threads
        self.size = self.runner.input_shape("image")[1]
        self.num_styles = self.runner.input_shape("style")[1]

    def __call__(self, rgb: np.ndarray, weights) -> np.ndarray:
        w = np.asarray(weights, np.float32).reshape(1, -1)
        w = w / max(float(w.sum()), 1e-6)
        out = self.runner.run(image=rgb.astype(np.float32)[None] / 255.0, style=w)["image"][0]
        return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)
