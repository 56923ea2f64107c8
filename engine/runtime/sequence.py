"""Stateful sequence models (an RNN over control or audio features), exported
stateless: one step is `(x, state...) -> (y, state...)`, and the caller owns
the state, so it can reset it, keep it across a swap, or crossfade it.

The LiteRT file carries a signature whose inputs are `x` and `state_0`,
`state_1`, ... and whose outputs are `y` and the same `state_k` names. Freeze
the weights to constants before converting (models/common/sequence_export.py):
a converted GRU with variables outputs NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.runtime.backend import ModelError


class SequenceModel:
    backend = "litert"

    def __init__(self, path: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        if not self.path.exists():
            raise ModelError(f"{self.path}: no such model file")
        try:
            interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
            signatures = interpreter.get_signature_list()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{self.path}: not a LiteRT model ({str(error).splitlines()[0]})") from None
        if len(signatures) != 1:
            raise ModelError(f"{self.path}: a sequence model takes x and state_0.. through one signature; "
                             f"this file has {len(signatures)} (write it with export_sequence_model)")
        (key, spec), = signatures.items()
        inputs, outputs = set(spec["inputs"]), set(spec["outputs"])
        states = sorted(n for n in inputs if n.startswith("state_"))
        if "x" not in inputs or "y" not in outputs or not states or set(states) - outputs \
                or inputs != {"x", *states}:
            raise ModelError(f"{self.path}: a sequence model takes x and state_0.. and gives y and the same "
                             f"state_k; this one takes {sorted(inputs)} and gives {sorted(outputs)}")
        self.runner = interpreter.get_signature_runner(key)
        details = self.runner.get_input_details()
        self.state_names = states
        self.state_shapes = {n: tuple(details[n]["shape"]) for n in states}
        self.x_shape = tuple(int(v) for v in details["x"]["shape"])
        self.y_shape = tuple(int(v) for v in self.runner.get_output_details()["y"]["shape"])
        self.state = self.initial_state()

    def initial_state(self) -> dict[str, np.ndarray]:
        return {n: np.zeros(shape, np.float32) for n, shape in self.state_shapes.items()}

    def reset(self) -> None:
        self.state = self.initial_state()

    def step(self, x) -> np.ndarray:
        """One step: feeds x with the held state, keeps the new state, returns y."""
        x = np.asarray(x, np.float32).reshape(self.x_shape)
        out = self.runner(x=x, **self.state)
        self.state = {n: np.array(out[n]) for n in self.state_names}     # copies: the buffers are reused
        y = np.array(out["y"])
        if not np.all(np.isfinite(y)):
            self.reset()
            raise ModelError(f"{self.path}: the step gave NaN or inf (state reset); were the weights "
                             "frozen to constants before converting?")
        return y
