"""Checkpoints every family's training shares: weights, the optimizer's state
and a JSON of the run's state (step, elapsed time, ...), written so that an
interrupted run resumes where it was; and the cosine learning-rate decay."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def paths(out_dir: Path) -> tuple[Path, Path, Path]:
    return out_dir / "checkpoint.weights.h5", out_dir / "checkpoint_optimizer.npz", out_dir / "checkpoint.json"


def save(out_dir: Path, model, optimizer, state: dict) -> None:
    weights, optimizer_file, state_file = paths(out_dir)
    model.save_weights(weights)
    np.savez(optimizer_file.with_suffix(".tmp.npz"), **{str(i): v.numpy() for i, v in enumerate(optimizer.variables)})
    os.replace(optimizer_file.with_suffix(".tmp.npz"), optimizer_file)
    state_file.write_text(json.dumps(state, indent=1))


def saved_state(out_dir: Path) -> dict | None:
    """The saved run's state, or None when there is no checkpoint."""
    state_file = paths(out_dir)[2]
    return json.loads(state_file.read_text()) if state_file.exists() else None


def load(out_dir: Path, model, optimizer) -> None:
    """The checkpoint's weights and optimizer state into `model` and `optimizer`."""
    weights, optimizer_file, _ = paths(out_dir)
    model.load_weights(weights)
    with np.load(optimizer_file) as values:
        for variable, key in zip(optimizer.variables, sorted(values.files, key=int)):
            variable.assign(values[key])


def cosine_rate(base: float, done: float) -> float:
    """Cosine decay over the budget (`done` 0..1) to 5 % of the start: big steps
    while the picture forms, small ones to settle its detail."""
    return base * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(1.0, done))))
