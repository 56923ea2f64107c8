"""Learned mappings: teach the engine by example which movement or sound sets
which parameters, as Wekinator made popular. Record a few seconds of each pose
with the parameters set as they should be for it (by hand, OSC or a scene),
train (a second or two), and perform: the mapping drives the parameters.

    [nodes.mapping]
    type = "learn"
    inputs.in1 = "look.motion"            # any control streams: floats or vectors
    inputs.in2 = "look.colour"
    inputs.in3 = "sound.loudness_db"
    targets = ["style.strength", "style.weight1", "scene"]

OSC `/mapping/record [SECONDS]`, `/mapping/stop`, `/mapping/train`, `/mapping/run`,
`/mapping/delete_last` (the last take), `/mapping/clear`; in the window r records
(again: stops), t trains, g runs (again: stops), x deletes the last take. Clearing
every example is OSC only: one key press should not lose a rehearsal.

Examples and the trained mapping live in a JSON file beside the patch (see
engine/learn/examples.py), written after every take and training, and loaded
when the node opens: a mapping trained in rehearsal plays in the show, and with
`start = "run"` an installation runs it from the first frame. Number outputs
stay within their parameter's range; a label output (a choice, a bool, the
scene) changes only once the new answer has held for `hold_s`. With no
examples, or a training that failed, the parameters are left alone and the
node says why.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from engine.clock import now_us
from engine.learn.examples import Examples, ExamplesFileError, InputSlot, load
from engine.learn.mapping import MODELS, Mapping, TrainingError, prepare, train
from engine.node import CommandArg, Node, OscCommand, Option, Port, StatusFigure, register
from engine.packet import CONTROL, Packet
from engine.params import BOOL, CHOICE, FLOAT, ParamError, ParamSpec

PORTS = 8
POOR_ERROR = 0.25                # a cross-validated error above this earns the performer a hint
MISSING_AFTER_S = 2.0            # an input silent this long after the others reads as 0
SCENE = "scene"                  # the target that is the scene recalled
OFF, RECORDING, TRAINING, RUNNING = 0, 1, 2, 3       # the state figure
STATE_NAMES = {OFF: "off", RECORDING: "recording", TRAINING: "training", RUNNING: "running"}


@register
class LearnNode(Node):
    type_name = "learn"
    description = "Learns from examples which inputs set which parameters, then drives them (record, train, run)."
    inputs = tuple(Port(f"in{i}", CONTROL, optional=True, any_length=True,
                        description="a control stream (a float or a vector)") for i in range(1, PORTS + 1))
    outputs = ()
    options = {
        "targets": Option(list, [], "the parameters the mapping sets, as node.param (numbers need a range; "
                          "choices and bools are labels), and \"scene\" for the scene to recall",
                          refers_to="param"),
        "model": Option((str, dict), "auto", "for number targets: ridge, mlp (a small network), or auto "
                        "(per target, whichever cross-validates better); or a table of target = model, "
                        "the rest auto"),
        "file": Option(str, "", "the examples and mapping file; empty: <patch>.<node>.learn.json beside the patch"),
        "start": Option(str, "run", "state when the patch opens: run (the saved mapping, if any) or off",
                        choices=("run", "off")),
        "record_hz": Option(float, 10.0, "examples recorded per second while recording", min=0.5, max=120),
        "run_hz": Option(float, 60.0, "times per second the mapping sets the parameters", min=1, max=240),
    }
    params = {
        "smoothing_s": ParamSpec(FLOAT, 0.15, "glide of number outputs (time constant)", min=0.0, max=10.0,
                                 unit="s"),
        "hold_s": ParamSpec(FLOAT, 0.25, "a label output (choice, scene) changes after its new answer held this long",
                            min=0.0, max=10.0, unit="s"),
    }
    osc_commands = {
        "record": OscCommand((CommandArg("seconds", "f", 0.0, 3600.0),),
                             "start a take: every input frame with the targets' current values becomes an "
                             "example (for SECONDS, or until stop)", optional=1),
        "stop": OscCommand((), "stop recording or running (parameters stay where they are)"),
        "train": OscCommand((), "train a mapping from the examples (in the background)"),
        "run": OscCommand((), "drive the targets with the trained mapping"),
        "delete_last": OscCommand((), "delete the examples of the last take"),
        "clear": OscCommand((), "delete every example and the mapping"),
    }
    window_keys = {"r": "toggle_record", "t": "train", "g": "toggle_run", "x": "delete_last"}
    status_figures = (
        StatusFigure("learn/examples", "i", "examples recorded (learn nodes)"),
        StatusFigure("learn/error", "f", "worst cross-validated error of the trained mapping: RMS fraction "
                     "of a number target's range, or share of labels wrong", combine="max"),
        StatusFigure("learn/state", "i", "0 off, 1 recording, 2 training, 3 running", combine="max"),
    )

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        targets = options["targets"]
        if not targets:
            return [("targets", "name the parameters to learn, e.g. [\"style.strength\", \"scene\"]")]
        problems = [(f"targets[{i}]", "expected node.param or \"scene\"") for i, t in enumerate(targets)
                    if not isinstance(t, str) or (t != SCENE and t.count(".") != 1)]
        if len(set(map(str, targets))) != len(targets):
            problems.append(("targets", "a parameter is named twice"))
        model = options["model"]
        chosen = model.items() if isinstance(model, dict) else [(None, model)]
        for target, kind in chosen:
            where = "model" if target is None else f"model.{target}"
            if kind not in MODELS:
                problems.append((where, f"{kind!r} is not one of: {', '.join(MODELS)}"))
            elif target is not None and target not in targets:
                problems.append((where, f"{target!r} is not one of the targets"))
        return problems

    # Opening ---------------------------------------------------------------------
    def open(self) -> None:
        self.store = self.context.params
        if self.store is None:
            raise RuntimeError("the learn node needs the engine's parameters (it runs inside a patch)")
        if not self.wiring:
            raise RuntimeError("no inputs connected: connect control streams to in1..in8")
        self.ports = [p.name for p in self.inputs if p.name in self.wiring]
        self.targets = [self._target(t) | {"column": i} for i, t in enumerate(self.opts["targets"])]
        self.numbers = [t for t in self.targets if t["kind"] == "number"]
        self.labels = [t for t in self.targets if t["kind"] == "label"]
        self.path = self._file()
        self.examples = self._load()
        self.state = OFF
        self.take = 0
        self.record_until_us = 0
        self.next_record_us = self.next_run_us = self.last_run_us = 0
        self.smoothed: np.ndarray | None = None
        self.held: dict[int, tuple[str, int, bool]] = {}   # label output -> (answer, since when, written)
        self.training: threading.Thread | None = None
        self.training_started_us = 0
        self.run_when_trained = False                       # /run came while training
        self.prepared = False                               # the training libraries imported ahead
        self.trained: Mapping | TrainingError | None = None
        self.layout_warned = False
        self.first_input_us = 0
        self.missing_reported: set[str] = set()
        if self.opts["start"] == "run" and self.examples.mapping is not None:
            self.state = RUNNING
        mapping = self.examples.mapping
        self.report(f"{len(self.examples.rows)} examples in {self.path}"
                    + (f"; mapping trained (error {mapping.error:.3f}), {STATE_NAMES[self.state]}"
                       if mapping else "; no mapping yet: record, then train"))

    def _target(self, name: str) -> dict[str, Any]:
        """How a target is read and written: kind "number" (with its range) or "label"."""
        if name == SCENE:
            return {"name": name, "kind": "label", "key": None}
        key = name.replace(".", "/")
        spec = self.store.specs.get(key)
        if spec is None:
            raise ParamError(f"targets: no parameter {name!r}")
        if spec.type in (CHOICE, BOOL):
            return {"name": name, "kind": "label", "key": key, "spec": spec}
        if spec.range is None:
            raise ParamError(f"targets: {name!r} has no range (min and max); a learned number needs one")
        return {"name": name, "kind": "number", "key": key, "spec": spec, "low": spec.min, "high": spec.max}

    def _file(self) -> Path:
        given = self.opts["file"]
        patch = self.context.patch_path
        if given:
            path = Path(given).expanduser()
            return path if path.is_absolute() or patch is None else Path(patch).parent / path
        if patch is not None:
            return Path(patch).with_name(f"{Path(patch).stem}.{self.name}.learn.json")
        return Path(self.context.output_dir) / f"{self.context.patch_name}.{self.name}.learn.json"

    def _load(self) -> Examples:
        fresh = Examples((), tuple(self.opts["targets"]))
        if not self.path.exists():
            return fresh
        try:
            examples = load(self.path)
        except ExamplesFileError as error:
            return self._set_aside(fresh, str(error))
        if list(examples.targets) != list(self.opts["targets"]):
            return self._set_aside(fresh, f"{self.path}: recorded for targets {list(examples.targets)}, "
                                          f"the patch now names {self.opts['targets']}")
        return examples

    def _set_aside(self, fresh: Examples, why: str) -> Examples:
        """An unusable file is kept (renamed), never overwritten: a rehearsal's examples are precious."""
        aside = self.path.with_name(self.path.name + ".old")
        try:
            self.path.replace(aside)
            self.report(f"{why}; moved it to {aside.name} and starting with no examples")
        except OSError as error:
            self.report(f"{why}; could not move it aside ({error}); starting with no examples")
        return fresh

    def take_over(self, previous: Node) -> None:
        # A live reload keeps what the performer is doing (recording, running), if
        # it still fits the patch; the examples themselves were loaded from the file.
        if isinstance(previous, LearnNode) and hasattr(previous, "state") and \
                list(previous.opts["targets"]) == list(self.opts["targets"]):
            self.examples = previous.examples
            self.state = previous.state
            self.take = previous.take
            if previous.training is not None and previous.training.is_alive():
                self.report("a training was under way during the reload: train again")
            else:             # a finished training not yet collected: its result comes along
                self.training, self.trained = previous.training, previous.trained

    def close(self) -> None:
        if getattr(self, "state", OFF) == RECORDING:
            self._save()

    # Every frame -----------------------------------------------------------------
    def process(self, inputs: dict[str, Packet]) -> None:
        self._handle_commands()
        x = self._features(inputs)
        if x is None:
            return None
        now = now_us()
        if self.state == RECORDING and now >= self.next_record_us:
            self.next_record_us = now + int(1e6 / self.opts["record_hz"])
            self._record(x)
            if self.record_until_us and now >= self.record_until_us:
                self._stop_recording("its time was up")
        elif self.state == RUNNING and now >= self.next_run_us:
            self.next_run_us = now + int(1e6 / self.opts["run_hz"])
            self._run(x, now)
        return None

    def idle(self) -> None:
        self._handle_commands()          # commands and a finished training, with no input arriving

    def _features(self, inputs: dict[str, Packet]) -> np.ndarray | None:
        """The connected inputs' newest values as one vector. An input that has
        sent nothing (an optional microphone that is absent) holds the others up
        for MISSING_AFTER_S, then reads as 0 until it sends."""
        missing = [port for port in self.ports if port not in inputs]
        if missing:
            now = now_us()
            self.first_input_us = self.first_input_us or now
            if now - self.first_input_us < MISSING_AFTER_S * 1e6:
                return None
            for port in missing:
                if port not in self.missing_reported:
                    self.missing_reported.add(port)
                    self.report(f"{port} ({self.wiring[port]}) has sent nothing: read as 0 until it does")
        parts = [np.atleast_1d(np.asarray(inputs[port].value, np.float64)).ravel() if port in inputs
                 else np.zeros(1) for port in self.ports]
        layout = tuple(InputSlot(port, self.wiring[port], len(part)) for port, part in zip(self.ports, parts))
        if not self.examples.rows and self.examples.mapping is None:
            self.examples.inputs = layout
        elif layout != self.examples.inputs:
            if not self.layout_warned:
                self.layout_warned = True
                self.report(f"the inputs are {', '.join(s.describe() for s in layout)}, but the examples were "
                            f"recorded from {self.examples.describe_inputs()}: not recording or running; "
                            f"/{self.name}/clear to start again")
            return None
        x = np.concatenate(parts)
        return x if np.all(np.isfinite(x)) else None

    # Commands --------------------------------------------------------------------
    def _handle_commands(self) -> None:
        self._collect_training()
        for name, args in self.take_commands():
            getattr(self, f"_command_{name}")(*args)

    def _command_toggle_record(self) -> None:
        self._command_stop() if self.state == RECORDING else self._command_record()

    def _command_toggle_run(self) -> None:
        self._command_stop() if self.state == RUNNING else self._command_run()

    def _command_record(self, seconds: float = 0.0) -> None:
        if self.state == RECORDING:
            self._stop_recording("a new take began")
        self.state = RECORDING
        self.take = self.examples.next_take()
        if not self.prepared:
            self.prepared = True
            threading.Thread(target=prepare, name=f"{self.name}-import", daemon=True).start()
        self.record_until_us = now_us() + int(seconds * 1e6) if seconds else 0
        self.report(f"recording take {self.take}" + (f" for {seconds:g} s" if seconds else "")
                    + f": set {', '.join(self.opts['targets'])} as this pose should have them")

    def _command_stop(self) -> None:
        if self.state == RECORDING:
            self._stop_recording("stopped")
        elif self.state == RUNNING:
            self.state = OFF
            self.report("stopped running; the parameters stay where they are")

    def _command_run(self) -> None:
        if self.state == RUNNING:
            return
        if self.training is not None:
            self.run_when_trained = True
            self.report("running as soon as the training is done")
            return
        if self.examples.mapping is None:
            self.report("no trained mapping: record examples and train first; parameters left alone")
            return
        if self.state == RECORDING:
            self._stop_recording("running")
        self.state, self.smoothed, self.held = RUNNING, None, {}
        self.report(f"running the mapping ({len(self.examples.rows)} examples, error {self.examples.mapping.error:.3f})")

    def _command_train(self) -> None:
        if self.training is not None:
            self.report("already training")
            return
        if self.state == RECORDING:
            self._stop_recording("training")
        rows = list(self.examples.rows)
        self.training_started_us = now_us()
        self.report(f"training on {len(rows)} examples from {len(set(r['take'] for r in rows))} take(s)")
        self.training = threading.Thread(target=self._train, args=(rows,), name=f"{self.name}-train", daemon=True)
        self.training.start()

    def _command_delete_last(self) -> None:
        if self.state == RECORDING:
            self._stop_recording("deleting it")
        removed = self.examples.delete_last_take()
        self._save()
        self.report(f"deleted the last take ({removed} examples); {len(self.examples.rows)} left"
                    + ("; the mapping is from before: train again" if self.examples.mapping and removed else ""))

    def _command_clear(self) -> None:
        removed = len(self.examples.rows)
        self.examples = Examples((), tuple(self.opts["targets"]))
        self.state, self.layout_warned = OFF, False
        self._save()
        self.report(f"cleared {removed} examples and the mapping")

    # Recording -------------------------------------------------------------------
    def _record(self, x: np.ndarray) -> None:
        y: list[Any] = []
        for target in self.targets:
            if target["key"] is None:
                y.append(self.store.last_scene)
            else:
                value = self.store.target(target["key"])
                y.append(int(value) if target["spec"].type == BOOL else value)
        self.examples.add(self.take, [float(v) for v in x], y)

    def _stop_recording(self, why: str) -> None:
        count = sum(1 for t in self.examples.takes if t == self.take)
        self.state = OFF
        self.record_until_us = 0
        self._save()
        self.report(f"take {self.take}: {count} examples ({why}); {len(self.examples.rows)} in all")

    def _save(self) -> None:
        try:
            self.examples.save(self.path)
        except OSError as error:
            self.report(f"could not save the examples to {self.path}: {error}; they are kept in memory")

    # Training (a background thread; the show goes on) ----------------------------
    def _train(self, rows: list[dict[str, Any]]) -> None:
        try:
            x = np.array([row["x"] for row in rows], np.float64).reshape(len(rows), -1)
            y = np.array([[(row["y"][t["column"]] - t["low"]) / (t["high"] - t["low"]) for t in self.numbers]
                          for row in rows], np.float64).reshape(len(rows), len(self.numbers))
            labels = [[str(row["y"][t["column"]]) for row in rows] for t in self.labels]
            takes = np.array([row["take"] for row in rows])
            model = self.opts["model"]
            models = [model.get(t["name"], "auto") for t in self.numbers] if isinstance(model, dict) else model
            self.trained = train(x, y, labels, takes, models)
        except TrainingError as error:
            self.trained = error
        except Exception as error:  # noqa: BLE001 - a failed training must leave the show running
            self.trained = TrainingError(f"{type(error).__name__}: {error}")

    def _collect_training(self) -> None:
        if self.training is None or self.training.is_alive():
            return
        self.training, result, self.trained = None, self.trained, None
        seconds = (now_us() - self.training_started_us) / 1e6
        run, self.run_when_trained = self.run_when_trained, False
        if isinstance(result, Mapping):
            self.examples.mapping = result
            self.smoothed, self.held = None, {}
            self._save()
            parts = [f"{t['name']} {kind} {err:.3f}" for t, kind, err in
                     zip(self.numbers, result.number_models, result.number_errors)]
            parts += [f"{t['name']} nearest(k={result.neighbours}) {err:.3f}" for t, err in
                      zip(self.labels, result.label_errors)]
            self.report(f"trained on {result.examples} examples in {seconds:.1f} s; cross-validated error: "
                        f"{', '.join(parts)}"
                        + ("; the inputs hardly tell these apart: make the poses more different"
                           if result.error > POOR_ERROR else ""))
            if run:
                self._command_run()
            elif self.state != RUNNING:
                self.report(f"/{self.name}/run (or g) to perform with it")
        else:
            self.report(f"training failed: {result}; the parameters are left alone")

    # Running ---------------------------------------------------------------------
    def _run(self, x: np.ndarray, now: int) -> None:
        mapping = self.examples.mapping
        numbers, labels = mapping.predict(x)
        dt_s = (now - self.last_run_us) / 1e6 if self.last_run_us else 0.0
        self.last_run_us = now
        tau = float(self.param["smoothing_s"])
        if self.smoothed is None or tau <= 0:
            self.smoothed = numbers.copy()
        else:
            self.smoothed += (1.0 - math.exp(-dt_s / tau)) * (numbers - self.smoothed)
        hold_us = int(float(self.param["hold_s"]) * 1e6)
        for target, fraction in zip(self.numbers, self.smoothed):
            try:
                self.store.set(target["key"], target["low"] + float(fraction) * (target["high"] - target["low"]))
            except ParamError as error:
                self.report(f"cannot set {target['name']}: {error}")
        for output, (target, label) in enumerate(zip(self.labels, labels)):
            if self._settled(output, label, now, hold_us) and label:
                try:
                    self._write_label(target, label)
                except ParamError as error:
                    self.report(f"cannot set {target['name']}: {error}")

    def _settled(self, output: int, label: str, now: int, hold_us: int) -> bool:
        """True once, when a new label has been the answer for hold_us."""
        candidate, since, written = self.held.get(output, (None, now, False))
        if label != candidate:
            candidate, since, written = label, now, False
        due = not written and now - since >= hold_us
        self.held[output] = (candidate, since, written or due)
        return due

    def _write_label(self, target: dict[str, Any], label: str) -> None:
        if target["key"] is None:
            if label != self.store.last_scene:
                self.store.recall(label)
        elif target["spec"].type == BOOL:
            self.store.set(target["key"], label in ("1", "True", "true"))
        else:
            self.store.set(target["key"], label)

    def status(self) -> dict[str, float]:
        if not hasattr(self, "examples"):
            return {}
        state = TRAINING if self.training is not None else self.state
        mapping = self.examples.mapping
        return {"learn/examples": len(self.examples.rows), "learn/error": mapping.error if mapping else 0.0,
                "learn/state": state}
