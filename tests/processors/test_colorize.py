"""The colorize node with a small network of random weights (the shipped
model's quality is `eval colorize`'s job): the tensor contract is checked at
load, the frame's own lightness is kept at any size, hints over OSC change
the colour, and a model of another family is refused naming the file."""

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from engine.harness import NodeHarness  # noqa: E402
from engine.packet import Packet  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import keras

    from models.colorize.export import export
    from models.colorize.network import build

    keras.utils.set_random_seed(3)
    model = build(widths=(4, 8, 8))
    out = tmp_path_factory.mktemp("colorize")
    model.save(out / "colorize.keras")
    export(model, out, size=64)
    return out / "colorize_int8.tflite"


def frame(height=120, width=200):
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (9, 9), 0)
    return np.ascontiguousarray(image)


def test_the_frames_lightness_is_kept_at_any_size_and_hints_change_the_colour(tiny_model):
    picture = frame()
    with NodeHarness("colorize", options={"path": str(tiny_model), "threads": 1}, name="colorize") as node:
        node.set_param("stabilize", 0.0, fade_s=0)
        plain = node.feed(video=Packet(picture, 1))["video"].value
        assert plain.shape == picture.shape
        lightness_in = cv2.cvtColor(picture, cv2.COLOR_BGR2Lab)[..., 0].astype(int)
        lightness_out = cv2.cvtColor(plain, cv2.COLOR_BGR2Lab)[..., 0].astype(int)
        assert np.abs(lightness_in - lightness_out).mean() < 3          # only the colour is the model's
        node.node.post_command("hint", (0.5, 0.5, 1.0, 0.0, 0.0, 0.2))   # red, a fifth of the frame wide
        hinted = node.feed(video=Packet(picture, 2))["video"].value
        assert np.abs(hinted.astype(int) - plain.astype(int)).mean() > 0.1
        node.node.post_command("clear", ())
        cleared = node.feed(video=Packet(picture, 3))["video"].value
        assert np.array_equal(cleared, plain)
        node.set_param("saturation", 0.0, fade_s=0)
        grey = node.feed(video=Packet(picture, 4))["video"].value
        b, g, r = (grey[..., i].astype(int) for i in range(3))
        assert np.abs(r - g).max() <= 3 and np.abs(g - b).max() <= 3      # no colour left
    [message] = node.events.messages("info")
    assert message.startswith("[colorize] colorize_int8.tflite: 64 px, litert, 1 thread(s); loaded in")


def test_a_palette_paints_the_frame_from_its_colours_and_status_counts_hints_and_colours(tiny_model):
    picture = frame()
    with NodeHarness("colorize", options={"path": str(tiny_model), "threads": 1}, name="colorize") as node:
        node.set_param("stabilize", 0.0, fade_s=0)
        plain = node.feed(video=Packet(picture, 1))["video"].value
        node.node.post_command("palette", (0.0, 0.3, 1.0, 1.0, 0.5, 0.0))       # blue and orange
        painted = node.feed(video=Packet(picture, 2))["video"].value
        lab = cv2.cvtColor(painted, cv2.COLOR_BGR2Lab).astype(int) - 128
        plain_lab = cv2.cvtColor(plain, cv2.COLOR_BGR2Lab).astype(int) - 128
        # blue has b < 0, orange b > 0 and a > 0: every part takes one of them, strongly
        assert np.abs(lab[..., 2]).mean() > 2 * np.abs(plain_lab[..., 2]).mean() + 5
        assert node.node.status() == {"colorize/hints": 0, "colorize/palette_colours": 2}
        node.node.post_command("hint", (0.5, 0.5, 1.0, 0.0, 0.0))
        node.feed(video=Packet(picture, 3))
        assert node.node.status() == {"colorize/hints": 1, "colorize/palette_colours": 2}
        node.node.post_command("clear", ())
        assert np.array_equal(node.feed(video=Packet(picture, 4))["video"].value, plain)
        assert node.node.status() == {"colorize/hints": 0, "colorize/palette_colours": 0}


def test_a_model_of_another_family_is_refused_naming_the_file():
    from engine.processors.style import SHIPPED
    style = SHIPPED.with_name("style_int8.tflite")
    node = NodeHarness("colorize", options={"path": str(style)}, name="colorize")
    assert node.open() is False
    [error] = node.events.messages("error")
    assert f"{style}: has 2 input(s)" in error or f"{style}: no input fits" in error, error


def test_hints_and_palette_are_the_scene_state_and_a_reload_keeps_them(tiny_model):
    picture = frame()
    options = {"path": str(tiny_model), "threads": 1}
    with NodeHarness("colorize", options=options, name="colorize") as node:
        node.node.post_command("palette", (0.0, 0.3, 1.0, 1.0, 0.5, 0.0))
        node.node.post_command("hint", (0.5, 0.5, 1.0, 0.0, 0.0))
        node.node.post_command("hint", (0.2, 0.1, 0.0, 1.0, 0.0, 0.1))
        node.feed(video=Packet(picture, 1))
        state = node.node.scene_state()
        assert state == [("palette", (0.0, 0.3, 1.0, 1.0, 0.5, 0.0)), ("hint", (0.5, 0.5, 1.0, 0.0, 0.0)),
                         ("hint", (0.2, 0.1, 0.0, 1.0, 0.0, 0.1))]
        with NodeHarness("colorize", options=options, name="colorize") as replacement:
            replacement.node.take_over(node.node)        # a reload with new options, or a model swap
            assert replacement.node.scene_state() == state
            assert replacement.node.status() == {"colorize/hints": 2, "colorize/palette_colours": 2}
        node.node.post_command("clear", ())
        for command, args in state:                      # a scene's recall replays them
            node.node.post_command(command, args)
        replayed = node.feed(video=Packet(picture, 2))["video"].value
        assert node.node.scene_state() == state
        node.node.post_command("clear", ())
        assert not np.array_equal(node.feed(video=Packet(picture, 3))["video"].value, replayed)
