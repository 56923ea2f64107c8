"""What /tensorstage/swap may do (engine/swap.py): a declared swappable model
option, to a model file of an accepted kind, under an allowed folder; never
an output path or a file elsewhere on the machine."""

import shutil

import pytest

from engine.patch import parse_patch
from engine.swap import SHIPPED_MODELS, SwapRefused, check_swap

CONVNET = SHIPPED_MODELS / "bench" / "convnet_int8.tflite"
PATCH = """
[nodes.pattern]
type = "test_pattern"

[nodes.style]
type = "image_model"
path = "{model}"
inputs.video = "pattern.video"

[nodes.screen]
type = "window"
inputs.video = "style.video"
{extra}
"""


def patch_in(folder, extra=""):
    return parse_patch(PATCH.format(model=CONVNET, extra=extra), path=folder / "show" / "patch.toml")


@pytest.fixture
def show(tmp_path):
    (tmp_path / "show").mkdir()
    shutil.copy(CONVNET, tmp_path / "show" / "mine.tflite")
    return tmp_path


def test_models_beside_the_patch_and_the_shipped_ones_may_be_swapped_in(show):
    patch = patch_in(show)
    assert check_swap(patch, "style", str(show / "show" / "mine.tflite")) == show / "show" / "mine.tflite"
    assert check_swap(patch, "style", "mine.tflite") == show / "show" / "mine.tflite"    # relative to the patch
    assert check_swap(patch, "style", str(CONVNET)) == CONVNET


@pytest.mark.parametrize("node, value, reason", [
    ("screen", "/tmp/owned.mp4", r"node .screen. \(window\) has no model to swap; model nodes: style"),
    ("pattern", "x.tflite", "has no model to swap"),
    ("nosuch", "x.tflite", "no node 'nosuch'"),
    ("style", "", "1 to 1024 characters"),
    ("style", "x" * 2000, "1 to 1024 characters"),
    ("style", "/etc/passwd", "not a .tflite or .keras file"),
    ("style", "missing.tflite", "not a .tflite or .keras file"),
])
def test_everything_else_is_refused_with_a_reason(show, node, value, reason):
    with pytest.raises(SwapRefused, match=reason):
        check_swap(patch_in(show), node, value)


def test_a_model_outside_the_allowed_folders_is_refused_until_the_patch_lists_its_folder(show):
    outside = show / "elsewhere"
    outside.mkdir()
    shutil.copy(CONVNET, outside / "x.tflite")
    (show / "show" / "link.tflite").symlink_to(outside / "x.tflite")     # a link out counts as out
    for value in (str(outside / "x.tflite"), "../elsewhere/x.tflite", "link.tflite"):
        with pytest.raises(SwapRefused, match="outside the folders models may be swapped from"):
            check_swap(patch_in(show), "style", value)
    listed = patch_in(show, '[osc]\nswap_roots = ["../elsewhere"]')
    assert check_swap(listed, "style", "../elsewhere/x.tflite") == outside / "x.tflite"
