"""The learn file: examples and mapping written readably, read back, and a
broken file named with the key that is wrong."""

import json

import numpy as np
import pytest

from engine.learn.examples import Examples, ExamplesFileError, InputSlot, load
from engine.learn.mapping import train

SLOTS = (InputSlot("in1", "look.motion", 1), InputSlot("in2", "look.colour", 2))


def recorded():
    examples = Examples(SLOTS, ("style.strength", "scene"))
    for take, (x, strength, scene) in enumerate([([0.1, 0.2, 0.3], 0.2, "calm"), ([0.9, 0.7, 0.1], 0.9, "storm")],
                                                start=1):
        for i in range(5):
            examples.add(take, [v + 0.01 * i for v in x], [strength, scene])
    return examples


def test_examples_and_mapping_survive_the_file(tmp_path):
    examples = recorded()
    rows = examples.rows
    x = np.array([r["x"] for r in rows])
    examples.mapping = train(x, np.array([[r["y"][0]] for r in rows]), [[r["y"][1] for r in rows]],
                             np.array(examples.takes))
    path = tmp_path / "show.mapping.learn.json"
    examples.save(path)
    data = json.loads(path.read_text())        # readable: plain JSON with the names in it
    assert data["inputs"][1] == {"port": "in2", "from": "look.colour", "size": 2}
    assert data["examples"][0] == {"take": 1, "x": [0.1, 0.2, 0.3], "y": [0.2, "calm"]}
    again = load(path)
    assert again.inputs == SLOTS and again.targets == examples.targets and again.rows == rows
    assert again.mapping.predict([0.9, 0.7, 0.1])[1] == ["storm"]
    assert not list(tmp_path.glob("*.tmp"))


def test_delete_last_take_removes_only_that_take():
    examples = recorded()
    assert examples.delete_last_take() == 5
    assert examples.takes == [1] * 5 and examples.next_take() == 2
    assert Examples(SLOTS, ()).delete_last_take() == 0


@pytest.mark.parametrize("change, where", [
    (lambda d: d.update(format="other"), "not a tensorstage learn file"),
    (lambda d: d.update(version=9), "version 9"),
    (lambda d: d["inputs"][0].pop("size"), "inputs: missing 'size'"),
    (lambda d: d["examples"][3].update(x=[1.0]), "examples[3]: expected 3 inputs and 2 targets"),
    (lambda d: d["examples"][0].update(x=["a", 1, 2]), "examples[0]: could not convert"),
    (lambda d: d.update(mapping={"mean": [0.0]}), "mapping: missing"),
])
def test_a_broken_file_is_named_with_the_key_that_is_wrong(tmp_path, change, where):
    path = tmp_path / "broken.learn.json"
    data = recorded().to_json()
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ExamplesFileError) as error:
        load(path)
    assert str(path) in str(error.value) and where in str(error.value)


def test_a_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "x.learn.json"
    path.write_text("{not json")
    with pytest.raises(ExamplesFileError, match="cannot read it"):
        load(path)
