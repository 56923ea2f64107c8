"""The style node: styles morph smoothly (in the blended normalization
parameters and in the picture), over OSC in a running patch; the stabiliser
calms still areas without ghosting after a cut."""

import socket
import time

import numpy as np
import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.harness import NodeHarness
from engine.osc.bridge import OscBridge, OscConfig
from engine.osc.sender import encode
from engine.packet import Packet
from engine.patch import parse_patch
from engine.runtime.stabilizer import Stabilizer
from tests.conftest import free_udp_port
from tests.nodes_for_tests import RECEIVED


@pytest.fixture(scope="module")
def two_style_model(tmp_path_factory):
    """A small two-style network whose styles differ (random per-style norms), exported int8."""
    from models.style.export import export
    from models.style.network import ConditionalInstanceNorm, build

    model = build(2)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, ConditionalInstanceNorm):
            scale, shift = layer.get_weights()
            layer.set_weights([scale + rng.normal(0, 0.5, scale.shape), shift + rng.normal(0, 0.5, shift.shape)])
    crops = (rng.random((8, 64, 64, 3)) * 255).astype(np.uint8)
    paths = export(model, tmp_path_factory.mktemp("style"), size=64, calibration_crops=crops, calibration_count=8)
    return model, paths["int8"]


def test_blended_normalization_parameters_are_the_weighted_mix(two_style_model):
    from models.style.network import ConditionalInstanceNorm

    model, _ = two_style_model
    norm = next(layer for layer in model.layers if isinstance(layer, ConditionalInstanceNorm))
    scale, shift = norm.get_weights()
    x = np.random.default_rng(1).normal(size=(1, 8, 8, scale.shape[1])).astype(np.float32)
    normed = (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + norm.epsilon)
    for t in (0.0, 0.3, 1.0):
        w = np.array([[1 - t, t]], np.float32)
        expected = normed * (w @ scale)[:, None, None] + (w @ shift)[:, None, None]
        assert np.allclose(norm([x, w]), expected, atol=1e-4)


def test_a_fade_between_styles_changes_the_picture_step_by_step(two_style_model):
    _, path = two_style_model
    frame = np.random.default_rng(2).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    with NodeHarness("style", options={"path": str(path), "threads": 1},
                     params={"stabilize": 0.0}) as node:
        outputs = []
        for i, t in enumerate(np.linspace(0, 1, 11)):
            node.set_param("style1", 1 - t, fade_s=0)
            node.set_param("style2", t, fade_s=0)
            out = node.feed(video=Packet(frame, i + 1))["video"].value
            assert out.shape == frame.shape
            outputs.append(out.astype(np.float32))
    total = np.abs(outputs[-1] - outputs[0]).mean()
    steps = [np.abs(b - a).mean() for a, b in zip(outputs, outputs[1:])]
    assert total > 5                                   # the two styles differ
    assert max(steps) < 0.35 * total                   # no jump: the change is spread over the fade
    away = [np.abs(o - outputs[0]).mean() for o in outputs]
    assert all(b >= a - 1.0 for a, b in zip(away, away[1:]))   # and goes one way


def _scene(rng, h=64, w=96):
    import cv2
    return cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (7, 7), 2)


def test_stabiliser_calms_a_still_shot_and_takes_a_cut_at_once():
    rng = np.random.default_rng(3)
    still = _scene(rng)
    painted_a = rng.integers(0, 255, still.shape, dtype=np.uint8)
    painted_b = np.clip(painted_a.astype(int) + rng.integers(-20, 20, still.shape), 0, 255).astype(np.uint8)
    stabilizer = Stabilizer()
    assert np.array_equal(stabilizer(still, painted_a, 1.0), painted_a)             # nothing to carry yet
    calm = stabilizer(still, painted_b, 1.0)
    assert np.abs(calm.astype(int) - painted_a).mean() < 0.3 * np.abs(painted_b.astype(int) - painted_a).mean()
    cut = _scene(rng)
    assert np.array_equal(stabilizer(cut, painted_b, 1.0), painted_b)               # a cut: no ghost
    assert np.array_equal(Stabilizer()(still, painted_b, 0.0), painted_b)


def test_stabiliser_carries_the_painting_along_a_pan():
    rng = np.random.default_rng(4)
    wide = _scene(rng, 64, 140)
    painting = rng.integers(0, 255, (64, 140, 3), dtype=np.uint8)
    first, second = wide[:, 20:116], wide[:, 23:119]                 # the camera pans 3 px
    stabilizer = Stabilizer()
    stabilizer(first, painting[:, 20:116], 1.0)
    fresh = rng.integers(0, 255, first.shape, dtype=np.uint8)         # a painting that flickered
    out = stabilizer(second, fresh, 1.0)[:, 10:-10].astype(int)
    moved = painting[:, 23:119][:, 10:-10].astype(int)                # the old strokes, moved with the scene
    assert np.abs(out - moved).mean() < 0.5 * np.abs(fresh[:, 10:-10].astype(int) - moved).mean()


PATCH = """
[nodes.pattern]
type = "test_pattern"
width = 160
height = 120

[nodes.style]
type = "style"
path = "{path}"
threads = 1
inputs.video = "pattern.video"
params.stabilize = 0.0
params.style1 = 1.0
params.style2 = 0.0

[nodes.out]
type = "test_collect"
inputs.value = "style.video"
"""


def test_a_style_morph_over_osc_in_a_running_patch(two_style_model):
    _, path = two_style_model
    port = free_udp_port()
    eng = Engine(parse_patch(PATCH.format(path=path)), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", port), query=False))
    bridge.start()
    eng.start()
    try:
        seen = []

        def run(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                eng.step(0.01)
                node = eng.runners["style"].node
                if getattr(node, "last_weights", None) is not None:
                    seen.append(float(node.last_weights[1]))

        run(0.6)
        before = len(RECEIVED["out"])
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.sendto(encode("/style/style1", 0.0), ("127.0.0.1", port))
        client.sendto(encode("/style/style2", 1.0), ("127.0.0.1", port))
        run(1.5)       # the weights glide over their 0.5 s smoothing
        assert eng.store.target("style/style2") == 1.0 and eng.store.target("style/style1") == 0.0
        assert bridge.server.counts["applied"] == 2
        # The node painted with the weights on the way, not just before and after.
        assert len({round(w, 2) for w in seen if 0.02 < w < 0.98}) >= 5
        assert seen[-1] == 1.0
        first, last = RECEIVED["out"][before][0].value, RECEIVED["out"][-1][0].value
        assert np.abs(last.astype(np.float32) - first).mean() > 5     # and the picture changed
    finally:
        eng.stop()
        bridge.stop()


def test_the_gpu_path_is_chosen_by_itself_and_paints_like_the_cpu_path():
    """Where an NVIDIA GPU is visible the shipped .keras runs on TensorFlow in
    float16 with XLA; here that path runs on the CPU and must agree with LiteRT."""
    from engine.processors.style import SHIPPED
    from engine.runtime.models import load_style_model
    from models.common.metrics import psnr

    cpu_model, why = load_style_model(SHIPPED, gpu=False)
    assert cpu_model.backend == "litert" and cpu_model.path.name == "style_int8.tflite", why
    gpu_model, why = load_style_model(SHIPPED, gpu=True)
    assert gpu_model.backend == "tensorflow" and "GPU" in why
    assert gpu_model.model.get_layer("down0_conv").compute_dtype == "float16"
    assert gpu_model.model.get_layer("down0_norm").compute_dtype == "float32"
    float_model, _ = load_style_model(SHIPPED.with_name("style_fp16.tflite"))
    frame = np.random.default_rng(4).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    frame = cv2_blur(frame)
    weights = [0.5, 0.5, 0, 0]
    assert psnr(gpu_model(frame, weights) / 255, float_model(frame, weights) / 255) > 30
    assert psnr(cpu_model(frame, weights) / 255, float_model(frame, weights) / 255) > 20   # int8 vs float


def cv2_blur(frame):
    import cv2
    return cv2.GaussianBlur(frame, (9, 9), 3)


def test_the_processing_resolution_switches_between_the_shipped_sizes():
    frame = np.random.default_rng(6).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    with NodeHarness("style", params={"stabilize": 0.0}, name="style") as node:
        outputs = {}
        for resolution in ("192", "320", "256"):
            node.set_param("resolution", resolution)
            outputs[resolution] = node.feed(video=Packet(frame, len(outputs) + 1))["video"].value
            assert node.node.last_size == int(resolution)
            assert outputs[resolution].shape == frame.shape
        assert not np.array_equal(outputs["192"], outputs["320"])
    assert "192/256/320 px" in node.events.messages()[0]
