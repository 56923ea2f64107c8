from pathlib import Path

import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet

CONVNET = Path(__file__).resolve().parents[2] / "models" / "bench" / "convnet_int8.tflite"


def test_runs_the_model_on_frames_of_any_size_and_blends_by_strength():
    frame = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    with NodeHarness("image_model", options={"path": str(CONVNET), "threads": 1}, name="style") as node:
        out = node.feed(video=Packet(frame, 42))["video"]
        assert out.ts_us == 42 and out.value.shape == frame.shape
        assert not np.array_equal(out.value, frame)
        node.set_param("strength", 0.0, fade_s=0)
        assert node.feed(video=Packet(frame, 43))["video"].value is frame
    [message] = node.events.messages()
    assert message.startswith("[style] convnet_int8.tflite: litert, 1 thread(s), 256x256; loaded in ")


def test_a_missing_model_is_reported_and_the_node_bypassed(tmp_path):
    frame = np.zeros((10, 10, 3), np.uint8)
    node = NodeHarness("image_model", options={"path": str(tmp_path / "gone.tflite")}, name="style")
    assert node.open() is False
    assert node.events.messages("error") == [
        f"[style] could not open (bypassed): ModelError: {tmp_path / 'gone.tflite'}: no such model file"]
    assert node.feed(video=Packet(frame, 1))["video"].value is frame
