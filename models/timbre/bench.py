"""The timbre family's part of `tensorstage bench models`, per 256-frame block
at 48 kHz on one thread: the model's step (LiteRT, float32), the synthesizer,
the live tracker, and the whole `timbre` node (tracker, one or two model steps,
synthesis, mix) on a sung-like input; the issue's budget is 1 ms for model
step plus synthesis. Also the float Keras model's step in a `tf.function`
(the naive way) for the ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.bench.timing import time_calls as _time

HERE = Path(__file__).resolve().parent
TARGET_MS = 1.0
RATE, BLOCK = 48000, 256


def measure(frames: int, keras: bool, add, figures: dict, progress) -> None:
    from engine.audio.synth import Controls, HarmonicNoiseSynth
    from engine.audio.tracker import PitchTracker
    from engine.harness import NodeHarness
    from engine.packet import Packet
    from engine.runtime.sequence import SequenceModel

    path = HERE / "timbre.tflite"
    if not path.exists():
        return
    calls = frames * 5                        # blocks are cheap: more of them for steady figures
    model = SequenceModel(path, threads=1)
    x = np.array([57 / 127, 0.6] + [1.0] + [0.0] * (int(np.prod(model.x_shape)) - 3), np.float32)
    add("timbre step (GRU 256, float32)", "timbre_step_1t", _time(lambda: model.step(x), calls), 1)
    y = model.step(x).ravel()
    synth = HarmonicNoiseSynth(RATE, BLOCK, 60, 65, top_hz=8000, noise_top_hz=8000)
    controls = Controls(220.0, float(y[0]), y[1:61], y[61:])
    add("timbre synthesizer, 256 frames at 48 kHz (A3)", "timbre_synth_block_1t",
        _time(lambda: synth.render(controls), calls), 1)
    t = np.arange(BLOCK * calls) / RATE
    voice = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    tracker = PitchTracker(RATE)
    position = [0]

    def track():
        position[0] = (position[0] + BLOCK) % (len(voice) - BLOCK)
        tracker.feed(voice[position[0]:position[0] + BLOCK])

    add("timbre tracker (YIN + loudness) per block", "timbre_tracker_block_1t", _time(track, calls), 1)
    node = NodeHarness("timbre", options={"path": str(path), "threads": 1}, name="timbre")
    if node.open():
        stamp = [0]

        def play():
            stamp[0] += 1
            start = (stamp[0] * BLOCK) % (len(voice) - BLOCK)
            node.feed(audio=Packet(voice[start:start + BLOCK, None], stamp[0]))

        add("timbre node per 256-frame block (all of it)", "timbre_node_block_1t", _time(play, calls), 1)
        node.close()
    # Step + synthesis: one block needs 256/240 model steps on average at 48 kHz.
    per_block = figures["timbre_step_1t_p50_ms"] * BLOCK / 240 + figures["timbre_synth_block_1t_p50_ms"]
    figures["timbre_step_plus_synth_per_block_ms"] = round(per_block, 4)
    figures["timbre_meets_1ms_target"] = bool(per_block <= TARGET_MS)
    progress(f"bench models: timbre step + synthesis per block {per_block:.3f} ms (target {TARGET_MS} ms)")
    if keras and (HERE / "timbre.keras").exists():
        import tensorflow as tf

        from models.timbre import network
        net = network.load(HERE / "timbre.keras")
        state = np.zeros((1, network.units_of(net)), np.float32)
        step = tf.function(lambda a, s: network.step(net, a, s))
        add("timbre step, Keras float in tf.function", "timbre_step_tf_function_1t",
            _time(lambda: step(x[None], state), frames), 1)
        figures["timbre_step_speedup_vs_tf_function"] = round(
            figures["timbre_step_tf_function_1t_p50_ms"] / figures["timbre_step_1t_p50_ms"], 1)
