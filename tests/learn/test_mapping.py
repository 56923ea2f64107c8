"""Training learned mappings: known relations are recovered, the cross-validated
error tells a linear model from a network, nearest neighbours pick labels."""

import numpy as np
import pytest

from engine.learn.mapping import Mapping, TrainingError, _folds, train


def takes_of(n, per_take):
    return np.arange(n) // per_take


def effective_linear(mapping):
    """Ridge weights and intercept in the units of the raw inputs."""
    w, b = mapping.ridge
    slope = w[:, 0] / mapping.spread
    return slope, b[0] - float(mapping.mean @ slope)


def test_a_known_linear_relation_is_recovered_from_noisy_examples():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(300, 3)) * [1.0, 4.0, 0.5]
    y = 0.5 + 0.2 * x[:, 0] - 0.05 * x[:, 1] + rng.normal(0, 0.02, 300)
    mapping = train(x, y[:, None], [], takes_of(300, 30), model="ridge")
    slope, intercept = effective_linear(mapping)
    assert slope == pytest.approx([0.2, -0.05, 0.0], abs=0.01)
    assert intercept == pytest.approx(0.5, abs=0.01)
    assert mapping.number_models == ["ridge"]
    assert 0.01 < mapping.error < 0.04          # close to the noise's 0.02
    numbers, labels = mapping.predict([0.5, 2.0, 0.0])
    assert numbers[0] == pytest.approx(0.5 + 0.1 - 0.1, abs=0.02) and labels == []


def xor_examples(rng, n=400):
    x = rng.uniform(-1, 1, size=(n, 2))
    y = np.where(np.sign(x[:, 0]) != np.sign(x[:, 1]), 0.9, 0.1) + rng.normal(0, 0.02, n)
    return x, y[:, None]


def test_xor_regions_are_learned_by_the_network_and_not_by_the_linear_model():
    rng = np.random.default_rng(2)
    x, y = xor_examples(rng)
    takes = takes_of(len(x), 40)
    linear = train(x, y, [], takes, model="ridge")
    network = train(x, y, [], takes, model="mlp")
    chosen = train(x, y, [], takes, model="auto")
    assert linear.error > 0.35                  # a plane cannot separate XOR: about the spread of y
    assert network.error < 0.2
    assert chosen.number_models == ["mlp"] and chosen.error == pytest.approx(network.error)
    for point, expected in (([0.6, 0.6], 0.1), ([-0.6, 0.6], 0.9), ([0.6, -0.6], 0.9), ([-0.6, -0.6], 0.1)):
        assert chosen.predict(point)[0][0] == pytest.approx(expected, abs=0.15)


def test_auto_keeps_ridge_where_the_relation_is_linear_and_chooses_per_output():
    rng = np.random.default_rng(3)
    x, xor = xor_examples(rng)
    linear = 0.5 + 0.3 * x[:, :1] + rng.normal(0, 0.02, (len(x), 1))
    mapping = train(x, np.hstack([linear, xor]), [], takes_of(len(x), 40), model="auto")
    assert mapping.number_models == ["ridge", "mlp"]
    assert len(mapping.number_errors) == 2 and max(mapping.number_errors) < 0.2


def test_predictions_stay_within_the_range_far_outside_the_examples():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, size=(100, 1))
    mapping = train(x, x.copy(), [], takes_of(100, 20), model="ridge")
    assert mapping.predict([50.0])[0][0] == 1.0 and mapping.predict([-50.0])[0][0] == 0.0


def test_nearest_neighbour_picks_the_right_scene():
    rng = np.random.default_rng(5)
    centres = {"calm": [0.0, -40.0], "storm": [0.8, -10.0], "mosaic": [0.2, -15.0]}
    x, labels, takes = [], [], []
    for take, (scene, centre) in enumerate(centres.items()):
        x += list(rng.normal(centre, [0.05, 2.0], size=(40, 2)))
        labels += [scene] * 40
        takes += [take] * 40
    mapping = train(np.array(x), np.zeros((120, 0)), [labels], np.array(takes))
    for scene, centre in centres.items():
        assert mapping.predict(centre)[1] == [scene]
    assert mapping.predict([0.75, -12.0])[1] == ["storm"]
    assert mapping.label_errors == [0.0]        # one take per scene: every fold still holds each scene


def test_label_error_is_low_when_every_take_holds_every_scene():
    rng = np.random.default_rng(6)
    x, labels, takes = [], [], []
    for take in range(4):
        for scene, centre in (("a", 0.0), ("b", 1.0)):
            x += list(rng.normal(centre, 0.1, size=(15, 1)))
            labels += [scene] * 15
            takes += [take] * 15
    mapping = train(np.array(x), np.zeros((len(x), 0)), [labels], np.array(takes))
    assert mapping.label_errors[0] < 0.05 and mapping.neighbours in (1, 3, 5, 9)


def test_folds_hold_out_a_stretch_of_every_take_not_shuffled_examples():
    takes = np.repeat([1, 2, 3], 20)
    folds = _folds(len(takes), takes)
    assert len(folds) == 5
    held = np.concatenate([test for _, test in folds])
    assert sorted(held) == list(range(60))                   # every example held out once
    for train_rows, test_rows in folds:
        assert set(takes[train_rows]) == {1, 2, 3}            # every pose stays in training
        for take in (1, 2, 3):
            rows = test_rows[takes[test_rows] == take]
            assert len(rows) == 4 and np.all(np.diff(rows) == 1)     # one stretch of 4 in a row
    assert len(_folds(3, np.array([1, 2, 3]))) == 3          # a single example per take: leave one out


def test_a_mapping_survives_json_and_a_broken_one_is_refused():
    rng = np.random.default_rng(7)
    x, y = xor_examples(rng, 200)
    mapping = train(x, np.hstack([y, 0.5 + 0.2 * x[:, :1]]), [["a" if v > 0.5 else "b" for v in y[:, 0]]],
                    takes_of(200, 20), model="auto")
    again = Mapping.from_json(mapping.to_json())
    for point in rng.uniform(-1, 1, size=(20, 2)):
        assert np.allclose(again.predict(point)[0], mapping.predict(point)[0])
        assert again.predict(point)[1] == mapping.predict(point)[1]
    broken = mapping.to_json()
    broken["mean"] = [0.0]
    with pytest.raises(ValueError, match="spread"):
        Mapping.from_json(broken)


@pytest.mark.parametrize("x, why", [
    (np.zeros((1, 2)), "at least two"),
    (np.ones((10, 2)), "never changed"),
    (np.array([[0.0], [np.nan]]), "not finite"),
])
def test_examples_that_cannot_be_trained_say_why(x, why):
    with pytest.raises(TrainingError, match=why):
        train(x, np.zeros((len(x), 1)), [], np.zeros(len(x)))


def test_the_model_is_chosen_per_output_when_asked():
    rng = np.random.default_rng(8)
    x, xor = xor_examples(rng)
    mapping = train(x, np.hstack([xor, xor]), [], takes_of(len(x), 40), model=["ridge", "auto"])
    assert mapping.number_models == ["ridge", "mlp"]
    assert mapping.number_errors[0] > 0.35 > 0.2 > mapping.number_errors[1]
    with pytest.raises(TrainingError, match="for each of the 2 number outputs"):
        train(x, np.hstack([xor, xor]), [], takes_of(len(x), 40), model=["ridge"])
