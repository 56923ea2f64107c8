"""Checkpoints survive a run killed while saving (models/common/checkpoint.py)."""

import json

import numpy as np
import pytest


def test_a_save_that_dies_midway_leaves_the_previous_checkpoint_whole(tmp_path):
    pytest.importorskip("tensorflow")
    import keras

    from models.common import checkpoint

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    checkpoint.save(tmp_path, model, optimizer, {"step": 1})
    saved = [w.copy() for w in model.get_weights()]

    model.set_weights([w + 1 for w in saved])

    def dies_while_writing(path):
        with open(path, "wb") as f:
            f.write(b"half a file")           # what a kill mid-write leaves
        raise KeyboardInterrupt

    model.save_weights = dies_while_writing
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path, model, optimizer, {"step": 2})

    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    checkpoint.load(tmp_path, fresh, optimizer)
    for a, b in zip(fresh.get_weights(), saved):
        assert np.array_equal(a, b)
    assert json.loads((tmp_path / "checkpoint.json").read_text()) == {"step": 1}
