"""Checkpoints every family's training shares: weights, the optimizer's state
and a JSON of the run's state (step, elapsed time, ...), written so that an
interrupted run resumes where it was; the cosine learning-rate decay; and the
training loop itself (`run`: budget, decay, progress, checkpoints)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np


def paths(out_dir: Path) -> tuple[Path, Path, Path]:
    return out_dir / "checkpoint.weights.h5", out_dir / "checkpoint_optimizer.npz", out_dir / "checkpoint.json"


def save(out_dir: Path, model, optimizer, state: dict) -> None:
    """Each file is written beside its place and renamed over it, so a run
    killed while saving keeps its previous checkpoint whole (a kill during a
    direct write once left a 22 kB weights file that would not load)."""
    weights, optimizer_file, state_file = paths(out_dir)
    model.save_weights(out_dir / "checkpoint.tmp.weights.h5")
    os.replace(out_dir / "checkpoint.tmp.weights.h5", weights)
    np.savez(optimizer_file.with_suffix(".tmp.npz"), **{str(i): v.numpy() for i, v in enumerate(optimizer.variables)})
    os.replace(optimizer_file.with_suffix(".tmp.npz"), optimizer_file)
    state_file.with_suffix(".tmp").write_text(json.dumps(state, indent=1))
    os.replace(state_file.with_suffix(".tmp"), state_file)


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


def resume(trainer, family: str, expected: dict, defaults: dict | None = None) -> None:
    """Continue from the checkpoint in `trainer.settings.out_dir`, if there is
    one: its state must have the `expected` values (what the network and data
    are; `defaults` for keys older checkpoints lack), else ValueError naming
    the file. Sets the trainer's weights, optimizer, state and random stream."""
    settings = trainer.settings
    saved = saved_state(settings.out_dir)
    if saved is None:
        return
    for key, wanted in expected.items():
        found = saved.get(key, (defaults or {}).get(key))
        if found != wanted:
            raise ValueError(f"{paths(settings.out_dir)[2]}: the checkpoint has {key} {found}, not {wanted}; "
                             "use another --out folder")
    load(settings.out_dir, trainer.model, trainer.optimizer)
    trainer.state = {**saved, **expected}
    trainer.rng = np.random.default_rng([settings.seed, saved["step"]])
    trainer.progress(f"{family}: resumed at step {saved['step']} ({saved['elapsed_s'] / 60:.1f} min trained)")


def add_run_options(parser, out: str, writes: str, minutes: float, batch: int) -> None:
    """The options every family's `train` command has: the run folder (resumed
    when present), the time budget, a step limit and the batch."""
    parser.add_argument("--out", type=Path, default=Path(out),
                        help=f"folder for checkpoints, {writes} (resumes if present)")
    parser.add_argument("--time-budget", type=float, default=minutes, metavar="MIN",
                        help=f"minutes of training, counted across resumes (default {minutes:g})")
    parser.add_argument("--steps", type=int, help="stop after this many steps instead")
    parser.add_argument("--batch", type=int, default=batch)


def card_training(trainer, data: str, loss: str, **window) -> dict:
    """A model card's "training" entry: what the family says of its data, loss
    and window, and the figures every family's state keeps."""
    state = trainer.state
    return {"data": data, "loss": loss, "steps": state["step"], "batch": trainer.settings.batch, **window,
            "minutes": round(state["elapsed_s"] / 60, 1), "final_loss": state["loss"],
            "validation_loss": state.get("validation_loss"), "machine": "2 CPU cores"}


def cosine_rate(base: float, done: float) -> float:
    """Cosine decay over the budget (`done` 0..1) to 5 % of the start: big steps
    while the picture forms, small ones to settle its detail."""
    return base * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(1.0, done))))


def run(trainer, train_step, report, every: int = 50, on_checkpoint=None) -> dict:
    """The loop every family's training runs, until the time budget (counted across
    resumes) or `settings.steps`: the learning rate decays by `cosine_rate`,
    `train_step()` returns one step's loss (a float or a tuple of them), every
    `every` steps `report(mean_loss, seconds_left)` records and prints, and
    `on_checkpoint()` (default `trainer.checkpoint`) runs every
    `settings.checkpoint_every_s` and at the end. `trainer` has `settings`,
    `state` (step, elapsed_s), `optimizer` and `checkpoint()`."""
    s, state = trainer.settings, trainer.state
    on_checkpoint = on_checkpoint or trainer.checkpoint
    started = time.monotonic() - state["elapsed_s"]
    last_checkpoint = time.monotonic()
    losses = []
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= s.time_budget_s or (s.steps is not None and state["step"] >= s.steps):
            break
        done = state["step"] / s.steps if s.steps else elapsed / s.time_budget_s
        trainer.optimizer.learning_rate.assign(cosine_rate(s.learning_rate, done))
        losses.append(train_step())
        state["step"] += 1
        state["elapsed_s"] = time.monotonic() - started
        if state["step"] % every == 0:
            report(np.mean(losses[-every:], axis=0), max(0.0, s.time_budget_s - state["elapsed_s"]))
        if time.monotonic() - last_checkpoint >= s.checkpoint_every_s:
            on_checkpoint()
            last_checkpoint = time.monotonic()
    on_checkpoint()
    return state
