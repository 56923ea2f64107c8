"""`tensorstage bench learn`: how long a learned mapping takes to train and to run.

The issue's case: 500 examples of 16 inputs and 8 outputs, from 10 takes (a
pose each, the inputs wandering around it), trained with every model choice,
pinned to one core as on stage. `frame_ms` is the learn node's whole work per
frame while running (predict, smooth, write 8 parameters); `predict_ms` is the
numpy prediction alone, beside scikit-learn's own `predict` on the same model
(why the node exports the weights), and, unless --no-keras, the same network
trained with Keras (why the node trains with scikit-learn).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.bench.report import print_table, write_json

EXAMPLES, INPUTS, OUTPUTS, TAKES = 500, 16, 8, 10


def examples(labels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[list[str]], np.ndarray]:
    """Poses in a 16-dimensional input space; the outputs a smooth non-linear
    function of them (the last `labels` outputs as names of regions)."""
    rng = np.random.default_rng(seed)
    takes = np.repeat(np.arange(TAKES), EXAMPLES // TAKES)
    poses = rng.normal(0, 1, (TAKES, INPUTS))
    x = poses[takes] + rng.normal(0, 0.3, (EXAMPLES, INPUTS))
    mix = rng.normal(0, 1, (INPUTS, OUTPUTS)) / np.sqrt(INPUTS)
    y = 0.5 + 0.4 * np.tanh(x @ mix)
    numbers = y[:, : OUTPUTS - labels]
    names = [[f"region{int(v * 3)}" for v in y[:, i]] for i in range(OUTPUTS - labels, OUTPUTS)]
    return x, numbers, names, takes


def _timed(fn: Any, repeats: int) -> tuple[float, float]:
    """Mean and 99th percentile of one call, ms."""
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return float(times.mean() * 1e3), float(np.percentile(times, 99) * 1e3)


def measure_training(model: str, labels: int) -> dict[str, Any]:
    from engine.learn.mapping import train

    x, numbers, names, takes = examples(labels)
    start = time.perf_counter()
    mapping = train(x, numbers, names, takes, model)
    seconds = time.perf_counter() - start
    predict_ms, predict_p99_ms = _timed(lambda: mapping.predict(x[7]), 5000)
    row = {"case": f"{model}, {OUTPUTS - labels} numbers + {labels} labels", "train_s": seconds,
           "predict_ms": predict_ms, "predict_p99_ms": predict_p99_ms,
           "frame_ms": _frame_ms(mapping, OUTPUTS - labels, labels), "error": mapping.error,
           "mlp_outputs": mapping.number_models.count("mlp")}
    if model == "mlp" and not labels:
        row["sklearn_predict_ms"] = _sklearn_predict_ms(x, numbers)
    return row


def _frame_ms(mapping: Any, numbers: int, labels: int) -> float:
    """The learn node's work per running frame, through the real node and parameter store."""
    from engine.harness import NodeHarness
    from engine.learn.examples import Examples
    from engine.params import CHOICE, FLOAT, ParamSpec

    targets = [f"out.n{i}" for i in range(numbers)] + [f"out.c{i}" for i in range(labels)]
    folder = tempfile.TemporaryDirectory()
    harness = NodeHarness("learn", options={"targets": targets, "file": f"{folder.name}/bench.learn.json"},
                          connected=("in1",))
    specs = {f"out/n{i}": ParamSpec(FLOAT, 0.5, "", min=0.0, max=1.0) for i in range(numbers)}
    specs |= {f"out/c{i}": ParamSpec(CHOICE, "region0", "", choices=("region0", "region1", "region2"))
              for i in range(labels)}
    harness.store.define({**harness.store.specs, **specs})
    node = harness.node
    harness.open()
    try:
        node.examples = Examples((), tuple(targets), mapping=mapping)
        x = np.zeros(INPUTS)
        clock = [0]

        def frame() -> None:
            clock[0] += 16_667
            node._run(x, clock[0])
        mean, _ = _timed(frame, 5000)
        return mean
    finally:
        harness.close()
        folder.cleanup()


def _sklearn_predict_ms(x: np.ndarray, y: np.ndarray) -> float:
    from engine.learn.mapping import _mlp
    net = _mlp(x, y, 0)
    return _timed(lambda: net.predict(x[7:8]), 2000)[0]


def measure_keras(progress: Any) -> dict[str, Any]:
    """The same 16-24-8 tanh network trained with Keras (Adam, 200 epochs of batch 32)."""
    start = time.perf_counter()
    import keras
    import_s = time.perf_counter() - start
    progress(f"bench learn: keras imported in {import_s:.1f} s")
    x, numbers, _, _ = examples(0)
    z = (x - x.mean(0)) / x.std(0)
    model = keras.Sequential([keras.Input((INPUTS,)), keras.layers.Dense(24, activation="tanh"),
                              keras.layers.Dense(OUTPUTS)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    start = time.perf_counter()
    history = model.fit(z, numbers, epochs=200, batch_size=32, verbose=0)
    train_s = time.perf_counter() - start
    one = z[7:8].astype(np.float32)
    predict_ms, _ = _timed(lambda: model(one, training=False), 500)
    return {"case": "keras mlp (no cross-validation)", "train_s": train_s, "import_s": import_s,
            "predict_ms": predict_ms, "error": float(np.sqrt(history.history["loss"][-1]))}


def main(json_path: Path | None, keras: bool = True, progress: Any = print) -> int:
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})        # one core, as on stage beside the video
    try:
        from engine.learn.mapping import prepare
        start = time.perf_counter()
        prepare()          # timed apart: the learn node imports it while the first take records
        rows = [{"case": "import scikit-learn", "import_s": time.perf_counter() - start}]
        for model, labels in (("ridge", 0), ("mlp", 0), ("auto", 0), ("auto", 2)):
            rows.append(measure_training(model, labels))
            progress(f"bench learn: {rows[-1]['case']}: trained in {rows[-1]['train_s']:.2f} s")
        if keras:
            rows.append(measure_keras(progress))
    finally:
        os.sched_setaffinity(0, cpus)
    print_table(f"learned mappings: {EXAMPLES} examples, {INPUTS} inputs, {OUTPUTS} outputs, one core "
                f"(targets: train < 5 s, run < 0.2 ms a frame)", rows,
                [("case", "case", "{}"), ("train s", "train_s", "{:.2f}"), ("frame ms", "frame_ms", "{:.3f}"),
                 ("predict ms", "predict_ms", "{:.3f}"), ("p99 ms", "predict_p99_ms", "{:.3f}"),
                 ("sklearn predict ms", "sklearn_predict_ms", "{:.3f}"), ("import s", "import_s", "{:.1f}"),
                 ("cv error", "error", "{:.3f}"), ("mlp outputs", "mlp_outputs", "{}")])
    figures: dict[str, Any] = {"examples": EXAMPLES, "inputs": INPUTS, "outputs": OUTPUTS}
    for row in rows:
        key = row["case"].split(" (")[0].replace(", ", "_").replace(" + ", "_").replace(" ", "_")
        figures.update({f"{key}_{name}": value for name, value in row.items() if name != "case"})
    figures["import_scikit-learn_s"] = figures.pop("import_scikit-learn_import_s")
    write_json(json_path, figures)
    return 0
