"""`bench learn` measures what it says: a mapping trained on the issue's case,
and the node's per-frame work through the real store (loose sanity bounds only)."""

from engine.bench.learn import INPUTS, examples, measure_training


def test_the_bench_case_has_the_stated_shape():
    x, numbers, labels, takes = examples(labels=2)
    assert x.shape == (500, INPUTS) and numbers.shape == (500, 6) and len(labels) == 2
    assert len(set(takes)) == 10 and {label[:6] for label in labels[0]} == {"region"}


def test_training_row_reports_time_cost_and_error():
    row = measure_training("auto", labels=2)
    assert 0 < row["train_s"] < 60
    assert 0 < row["predict_ms"] < row["frame_ms"] < 50
    assert 0 <= row["error"] < 0.5 and row["mlp_outputs"] <= 6
