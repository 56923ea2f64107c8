"""The sample_rnn node with the shipped model: a minute paced in real time
never runs dry, the textures sound different (wind and fire darker than rain), a
microphone primes it, a swap keeps its state and what it queued, and a model
of another kind is refused naming the file."""
import time

import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.processors.sample_rnn import SHIPPED

RATE, BLOCK = 48000, 256


def centroid(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float((freqs * spectrum).sum() / spectrum.sum())


def blocks(harness, seconds):
    return np.concatenate([harness.step()["audio"].value[:, 0] for _ in range(int(seconds * RATE / BLOCK))])


def test_a_minute_in_real_time_never_runs_dry():
    with NodeHarness("sample_rnn", name="texture") as harness:
        assert harness.runner.opened, harness.events.messages("error")
        assert harness.runner.is_source
        started = time.monotonic()
        sound = blocks(harness, 60.0)             # paced by the node's own clock: a real minute
        assert time.monotonic() - started > 55
        assert harness.node.status()["sample_rnn/dry_frames"] == 0
        assert np.all(np.isfinite(sound)) and np.abs(sound).max() <= 1.0
        assert sound[RATE:].std() > 1e-3          # sound throughout, not silence
        assert min(sound[i:i + RATE].std() for i in range(0, len(sound) - RATE, RATE)) > 1e-4


def test_textures_sound_different():
    # Half a second ahead: a busy machine's late generator would leave gaps, whose clicks
    # brighten a quiet texture; the first 0.8 s (the last texture's queue) is not counted.
    with NodeHarness("sample_rnn", options={"ahead_s": 0.5}, name="texture") as harness:
        assert harness.runner.opened
        names = harness.node.weights.names
        heard = {}
        for i, name in enumerate(names):
            for j in range(len(names)):
                harness.set_param(f"texture{j + 1}", 1.0 if i == j else 0.0, fade_s=0)
            harness.node.post_command("reset", ())
            heard[name] = blocks(harness, 2.5)[int(0.8 * RATE):]
        # What the shipped model makes of them (its card): rain bright, wind and fire dark.
        assert centroid(heard["wind"]) < 0.6 * centroid(heard["rain"])
        assert centroid(heard["fire"]) < 0.6 * centroid(heard["rain"])


def test_priming_from_the_microphone():
    options = {"listen": True, "prime_s": 0.5}
    with NodeHarness("sample_rnn", options=options, name="texture") as harness:
        assert harness.runner.opened and not harness.runner.is_source
        tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(RATE) / RATE)).astype(np.float32)
        for i in range(0, len(tone) - BLOCK + 1, BLOCK):
            harness.feed(audio=Packet(tone[i:i + BLOCK, None], i))
        harness.node.post_command("prime", ())
        harness.feed(audio=Packet(np.zeros((BLOCK, 1), np.float32), RATE))
        generator = harness.node.streamer.generator
        deadline = time.monotonic() + 5
        while harness.node.streamer.primer is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        # The generator heard the tone: its history (16 kHz) holds a 300 Hz sine of that level.
        spectrum = np.abs(np.fft.rfft(generator.history))
        assert harness.node.streamer.primer is None
        assert 250 < np.argmax(spectrum) * 16000 / len(generator.history) < 350 or generator.history.std() > 0.05


def test_a_swap_keeps_the_state_and_what_was_queued():
    with NodeHarness("sample_rnn", name="texture") as first:
        assert first.runner.opened
        blocks(first, 0.5)
        with NodeHarness("sample_rnn", name="texture") as second:
            assert second.runner.opened
            queued_before = second.node.streamer.queued
            second.node.take_over(first.node)
            assert second.node.streamer.queued > queued_before
            np.testing.assert_array_equal(second.node.streamer.generator.history[-10:],
                                          first.node.streamer.generator.history[-10:])


def test_a_model_of_another_kind_is_refused_naming_the_file():
    other = SHIPPED.parents[1] / "timbre" / "timbre.tflite"
    with NodeHarness("sample_rnn", options={"path": str(other)}, name="texture") as harness:
        assert not harness.runner.opened
        assert any("timbre.tflite" in m for m in harness.events.messages("error"))
