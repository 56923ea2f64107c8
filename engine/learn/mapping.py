"""A learned mapping from an input vector to parameter values, and its training.

Training uses scikit-learn (ridge regression with its efficient leave-one-out
choice of the penalty, a small multi-layer network fitted by L-BFGS, grouped
cross-validation); it is imported only when a mapping is trained. Running a
trained mapping is a few lines of numpy on the weights it exported, so a mapping
trained in rehearsal plays in the show from its JSON file, with no pickles and
no scikit-learn in the frame loop (`tensorstage bench learn`: numpy 0.01 ms a
frame against 0.08 ms for scikit-learn's own predict).

Outputs are of two kinds. A *number* (a float or int parameter with a range) is
learned as a fraction of that range, by ridge regression or the network, chosen
per output by cross-validated error when the model is `auto`; predictions are
clamped to the range. A *label* (a choice or bool parameter, or the scene) is
learned by k nearest neighbours, k chosen by cross-validation. Inputs are
standardised with the examples' mean and spread.

Cross-validation holds out stretches of time within every take (the examples
of one recording), not single shuffled examples: those recorded a tenth of a
second apart are near copies, and a random split would report an error far
better than the performer will meet.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MODELS = ("auto", "ridge", "mlp")
HIDDEN_UNITS = 24            # one tanh layer: enough for XOR-like regions of a few inputs
MLP_PENALTY = 1e-2
MLP_MAX_ITERATIONS = 400
RIDGE_PENALTIES = tuple(float(a) for a in np.logspace(-3, 3, 13))
NEIGHBOURS = (1, 3, 5, 9)
FOLDS = 5
# The network must beat ridge regression by this much to be chosen: the simpler
# model extrapolates more gently between the poses the performer showed.
MLP_MARGIN = 0.9
SPREAD_FLOOR = 1e-6          # an input that never moved is standardised by this, not by 0


class TrainingError(ValueError):
    """Why examples could not be trained into a mapping (said to the performer)."""


@dataclass
class Mapping:
    """What training made: enough to predict, and to be written as JSON."""
    mean: np.ndarray                      # (d,) input mean
    spread: np.ndarray                    # (d,) input standard deviation (floored)
    number_models: list[str]              # per number output: "ridge" or "mlp"
    number_errors: list[float]            # per number output: RMS error, fraction of its range
    label_errors: list[float]             # per label output: share misclassified
    ridge: tuple[np.ndarray, np.ndarray] | None = None              # (W (d, m), b (m,))
    mlp: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)   # layers; tanh between
    neighbours: int = 1
    label_points: np.ndarray | None = None                           # (n, d) standardised examples
    label_values: list[list[str]] = field(default_factory=list)      # per label output: n labels
    examples: int = 0

    @property
    def error(self) -> float:
        """The worst cross-validated error of any output (0 when none could be measured)."""
        return max(self.number_errors + self.label_errors, default=0.0)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Numbers (fractions of their ranges, clamped to 0..1) and labels for one input vector."""
        z = (np.asarray(x, np.float64) - self.mean) / self.spread
        numbers = np.empty(len(self.number_models))
        if len(numbers):
            ridge = z @ self.ridge[0] + self.ridge[1] if self.ridge is not None else None
            net = _forward(self.mlp, z) if self.mlp else None
            for i, kind in enumerate(self.number_models):
                numbers[i] = (net if kind == "mlp" else ridge)[i]
            np.clip(numbers, 0.0, 1.0, out=numbers)
        labels = []
        if self.label_values:
            apart = self.label_points - z
            distance = np.einsum("nd,nd->n", apart, apart)
            nearest = np.argpartition(distance, self.neighbours - 1)[: self.neighbours] \
                if self.neighbours < len(distance) else np.arange(len(distance))
            for values in self.label_values:
                labels.append(_vote([values[i] for i in nearest], [distance[i] for i in nearest]))
        return numbers, labels

    # JSON ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "mean": self.mean.tolist(), "spread": self.spread.tolist(),
            "number_models": self.number_models, "number_errors": self.number_errors,
            "label_errors": self.label_errors,
            "ridge": None if self.ridge is None else {"W": self.ridge[0].tolist(), "b": self.ridge[1].tolist()},
            "mlp": [{"W": w.tolist(), "b": b.tolist()} for w, b in self.mlp],
            "neighbours": self.neighbours,
            "label_points": None if self.label_points is None else self.label_points.tolist(),
            "label_values": self.label_values,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Mapping":
        """The mapping a file holds; KeyError/ValueError/TypeError if it is malformed."""
        def array(value: Any, ndim: int) -> np.ndarray:
            out = np.asarray(value, np.float64)
            if out.ndim != ndim or not np.all(np.isfinite(out)):
                raise ValueError(f"expected finite numbers in {ndim} dimension(s), got shape {out.shape}")
            return out
        ridge = data["ridge"]
        mapping = cls(
            mean=array(data["mean"], 1), spread=array(data["spread"], 1),
            number_models=[str(k) for k in data["number_models"]],
            number_errors=[float(e) for e in data["number_errors"]],
            label_errors=[float(e) for e in data["label_errors"]],
            ridge=None if ridge is None else (array(ridge["W"], 2), array(ridge["b"], 1)),
            mlp=[(array(layer["W"], 2), array(layer["b"], 1)) for layer in data["mlp"]],
            neighbours=int(data["neighbours"]),
            label_points=None if data["label_points"] is None else array(data["label_points"], 2),
            label_values=[[str(v) for v in values] for values in data["label_values"]],
            examples=int(data["examples"]))
        mapping.check()
        return mapping

    def check(self) -> None:
        """ValueError unless the parts fit together (a hand-edited file)."""
        d, m = len(self.mean), len(self.number_models)
        if len(self.spread) != d or np.any(self.spread <= 0):
            raise ValueError("spread must hold one positive value per input")
        if any(kind not in ("ridge", "mlp") for kind in self.number_models):
            raise ValueError("number_models holds 'ridge' or 'mlp' per output")
        if "ridge" in self.number_models and (self.ridge is None or self.ridge[0].shape != (d, m)
                                              or self.ridge[1].shape != (m,)):
            raise ValueError(f"ridge must be W ({d} x {m}) and b ({m})")
        if "mlp" in self.number_models:
            width = d
            for w, b in self.mlp:
                if w.shape[0] != width or b.shape != (w.shape[1],):
                    raise ValueError("mlp layers do not chain")
                width = w.shape[1]
            if width != m:
                raise ValueError(f"mlp must end in {m} outputs")
        if self.label_values:
            if self.label_points is None or self.label_points.shape[1] != d or self.neighbours < 1 or \
                    any(len(values) != len(self.label_points) for values in self.label_values):
                raise ValueError("label_points and label_values must hold one entry per example")


def _forward(layers: list[tuple[np.ndarray, np.ndarray]], z: np.ndarray) -> np.ndarray:
    for i, (w, b) in enumerate(layers):
        z = z @ w + b
        if i < len(layers) - 1:
            z = np.tanh(z)
    return z


def _vote(labels: list[str], distances: list[float]) -> str:
    """The most common label among the neighbours; a tie goes to the nearest."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    best = max(counts.values())
    return min((d, label) for label, d in zip(labels, distances) if counts[label] == best)[1]


# Training ----------------------------------------------------------------------
def prepare() -> None:
    """Import the training libraries ahead (0.8 s on one core, more beside a
    show): the learn node does it while the first take records."""
    import sklearn.linear_model  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    import threadpoolctl  # noqa: F401


def train(x: np.ndarray, numbers: np.ndarray, labels: list[list[str]], takes: np.ndarray,
          model: str | list[str] = "auto", seed: int = 0) -> Mapping:
    """Fit a mapping to examples: `x` (n, d) inputs, `numbers` (n, m) number
    outputs as fractions of their ranges, `labels` one list of n labels per label
    output, `takes` (n,) the recording each example came from. `model` is one
    of MODELS for every number output, or a list of them, one per output.
    TrainingError says what is wrong with examples that cannot be trained."""
    x = np.asarray(x, np.float64)
    numbers = np.asarray(numbers, np.float64).reshape(len(x), -1)
    models = [model] * numbers.shape[1] if isinstance(model, str) else list(model)
    if len(models) != numbers.shape[1] or any(m not in MODELS for m in models):
        raise TrainingError(f"model: expected one of {', '.join(MODELS)} for each of the "
                            f"{numbers.shape[1]} number outputs, got {model!r}")
    n = len(x)
    if n < 2:
        raise TrainingError(f"{n} example(s): record at least two (better: a few seconds of each pose)")
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(numbers)):
        raise TrainingError("the examples hold values that are not finite numbers")
    mean = x.mean(axis=0)
    spread = np.maximum(x.std(axis=0), SPREAD_FLOOR)
    if np.all(spread <= SPREAD_FLOOR):
        raise TrainingError("the inputs never changed across the examples: nothing to learn from "
                            "(move, or make a sound, between poses)")
    z = (x - mean) / spread
    folds = _folds(n, np.asarray(takes))
    from threadpoolctl import threadpool_limits

    # One BLAS thread: training shares two cores with the show.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")     # L-BFGS stopping at its iteration budget is expected
        mapping = Mapping(mean=mean, spread=spread, number_models=[], number_errors=[], label_errors=[],
                          examples=n)
        if numbers.shape[1]:
            _fit_numbers(mapping, z, numbers, folds, models, seed)
        if labels:
            _fit_labels(mapping, z, labels, folds)
    return mapping


def _folds(n: int, takes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fold k holds out the k-th stretch of time of every take. Examples recorded
    a tenth of a second apart are near copies, so a shuffled split would report
    an error far better than the performer will meet; holding out whole takes
    would ask for poses never shown (a performer records each pose once)."""
    folds = min(FOLDS, n)
    held: list[list[int]] = [[] for _ in range(folds)]
    for take in np.unique(takes):
        rows = np.flatnonzero(takes == take)
        for k, stretch in enumerate(np.array_split(rows, folds)):
            held[k].extend(stretch.tolist())
    everything = np.arange(n)
    out = []
    for test_rows in held:
        if test_rows and len(test_rows) < n:
            test = np.array(sorted(test_rows))
            out.append((np.setdiff1d(everything, test), test))
    if not out:                          # every take a single example: leave one out
        out = [(np.delete(everything, i), np.array([i])) for i in range(n)]
    return out


def _ridge(z: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import RidgeCV
    return RidgeCV(alphas=RIDGE_PENALTIES).fit(z, y)


def _mlp(z: np.ndarray, y: np.ndarray, seed: int) -> Any:
    from sklearn.neural_network import MLPRegressor
    return MLPRegressor(hidden_layer_sizes=(HIDDEN_UNITS,), activation="tanh", solver="lbfgs",
                        alpha=MLP_PENALTY, max_iter=MLP_MAX_ITERATIONS, random_state=seed).fit(z, y)


def _fit_numbers(mapping: Mapping, z: np.ndarray, y: np.ndarray, folds: list, models: list[str],
                 seed: int) -> None:
    kinds = [kind for kind in ("ridge", "mlp") if kind in models or "auto" in models]
    squared = {kind: np.zeros(y.shape[1]) for kind in kinds}
    for train_rows, test_rows in folds:
        for kind in kinds:
            fitted = _ridge(z[train_rows], y[train_rows]) if kind == "ridge" else \
                _mlp(z[train_rows], y[train_rows], seed)
            guess = np.clip(fitted.predict(z[test_rows]).reshape(len(test_rows), -1), 0.0, 1.0)
            squared[kind] += ((guess - y[test_rows]) ** 2).sum(axis=0)
    error = {kind: np.sqrt(total / len(z)) for kind, total in squared.items()}
    chosen = [("mlp" if error["mlp"][i] < MLP_MARGIN * error["ridge"][i] else "ridge") if kind == "auto" else kind
              for i, kind in enumerate(models)]
    mapping.number_models = chosen
    mapping.number_errors = [float(error[kind][i]) for i, kind in enumerate(chosen)]
    if "ridge" in chosen:
        ridge = _ridge(z, y)
        mapping.ridge = (np.asarray(ridge.coef_, np.float64).reshape(y.shape[1], -1).T,
                         np.atleast_1d(np.asarray(ridge.intercept_, np.float64)))
    if "mlp" in chosen:
        net = _mlp(z, y, seed)
        mapping.mlp = [(np.asarray(w, np.float64), np.asarray(b, np.float64))
                       for w, b in zip(net.coefs_, net.intercepts_)]


def _fit_labels(mapping: Mapping, z: np.ndarray, labels: list[list[str]], folds: list) -> None:
    mapping.label_points = z
    mapping.label_values = [list(values) for values in labels]
    best_k, best_errors = 1, None
    for k in NEIGHBOURS:
        if k > max(len(train_rows) for train_rows, _ in folds):
            break
        wrong = np.zeros(len(labels))
        for train_rows, test_rows in folds:
            held_out = Mapping(mean=np.zeros(z.shape[1]), spread=np.ones(z.shape[1]), number_models=[],
                               number_errors=[], label_errors=[], neighbours=min(k, len(train_rows)),
                               label_points=z[train_rows],
                               label_values=[[values[i] for i in train_rows] for values in labels])
            for row in test_rows:
                _, guessed = held_out.predict(z[row])
                wrong += [g != values[row] for g, values in zip(guessed, labels)]
        errors = wrong / len(z)
        if best_errors is None or errors.mean() < best_errors.mean():
            best_k, best_errors = k, errors
    mapping.neighbours = best_k
    mapping.label_errors = [float(e) for e in best_errors]
