"""The timbre node with the shipped model: it plays the pitch it hears (and
transposed), nothing for noise, the instrument weights change the sound, it
plays from OSC-style parameters without a microphone, and a model of another
kind is refused naming the file. The sound's quality is `eval timbre`'s job."""
import numpy as np
import pytest

from engine.audio.tracker import PitchTracker
from engine.harness import NodeHarness
from engine.packet import Packet
from engine.processors.timbre import SHIPPED

RATE, BLOCK = 48000, 256


def voice(f0, seconds, level=0.2):
    """A sung-like tone: a fundamental and two softer harmonics."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(level / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3))
    return wave.astype(np.float32)


_stamp = [0]       # packet times only go up


def play(node, audio):
    out, last = [], {}
    for i in range(0, len(audio) - BLOCK + 1, BLOCK):
        _stamp[0] += 1
        last = node.feed(audio=Packet(audio[i:i + BLOCK, None], _stamp[0]))
        out.append(last["audio"].value[:, 0])
    return np.concatenate(out), last


def pitch_of(audio):
    tracker = PitchTracker(RATE)
    frames = tracker.feed(audio)
    return np.array([f.f0_hz for f in frames[len(frames) // 2:] if f.voiced])


@pytest.fixture
def node():
    with NodeHarness("timbre", options={"path": str(SHIPPED)}, name="timbre") as harness:
        assert harness.open()
        yield harness


# Inside the violin's range (G3 196 Hz up): below it the model was never shown a violin.
@pytest.mark.parametrize("octave, shift, ratio", [(0, 0, 1.0), (-1, 0, 0.5), (0, 5, 2 ** (5 / 12))])
def test_it_plays_the_pitch_it_hears_transposed_as_asked(node, octave, shift, ratio):
    node.set_param("octave", float(octave), fade_s=0)
    node.set_param("pitch_shift", float(shift), fade_s=0)
    out, last = play(node, voice(440.0, 1.0))
    heard = pitch_of(out)
    assert len(heard) > 50 and out[RATE // 2:].std() > 1e-3
    assert np.median(1200 * np.abs(np.log2(heard / (440.0 * ratio)))) < 10
    assert last["voiced"].value == 1.0 and last["f0_hz"].value == pytest.approx(440.0 * ratio, rel=0.01)


def test_noise_plays_no_note(node):
    noise = np.random.default_rng(0).uniform(-0.2, 0.2, RATE).astype(np.float32)
    out, last = play(node, noise)
    assert out[RATE // 4:].std() < 1e-4
    assert last["voiced"].value == 0.0 and last["f0_hz"].value == 0.0


def test_the_instrument_weights_change_the_sound(node):
    def harmonic_levels_db(weights):
        for i, w in enumerate(weights):
            node.set_param(f"instrument{i + 1}", w, fade_s=0)
        out, _ = play(node, voice(440.0, 0.6))
        spectrum = np.abs(np.fft.rfft(out[-8192:] * np.hanning(8192)))
        peaks = np.array([spectrum[round(k * 440 * 8192 / RATE) - 2:round(k * 440 * 8192 / RATE) + 3].max()
                          for k in range(1, 9)])
        return 20 * np.log10(peaks / peaks.max() + 1e-5)

    violin, flute = harmonic_levels_db([1.0, 0.0, 0.0]), harmonic_levels_db([0.0, 1.0, 0.0])
    # The first eight harmonics' levels relative to the strongest differ by several dB on average.
    assert np.abs(violin - flute).mean() > 3.0


def test_dry_wet_zero_passes_the_input_through(node):
    node.set_param("dry_wet", 0.0, fade_s=0)
    audio = voice(220.0, 0.2)
    out, _ = play(node, audio)
    np.testing.assert_allclose(out, audio[:len(out)], atol=1e-6)


def test_played_from_parameters_without_a_microphone():
    options = {"path": str(SHIPPED), "play": "controls", "lead_blocks": 0}
    with NodeHarness("timbre", options=options, name="timbre") as harness:
        assert harness.open() and harness.runner.is_source
        harness.set_param("f0", 220.0, fade_s=0)
        harness.set_param("loudness", -20.0, fade_s=0)
        out = np.concatenate([harness.step()["audio"].value[:, 0] for _ in range(150)])
        assert np.median(1200 * np.abs(np.log2(pitch_of(out) / 220.0))) < 10
        harness.set_param("loudness", -80.0, fade_s=0)
        quiet = np.concatenate([harness.step()["audio"].value[:, 0] for _ in range(40)])
        assert quiet[-BLOCK * 10:].std() < 1e-4


def test_a_model_of_another_kind_is_refused_naming_the_file():
    other = SHIPPED.parents[1] / "bench" / "convnet_int8.tflite"
    with NodeHarness("timbre", options={"path": str(other)}, name="timbre") as harness:
        assert not harness.open()
        assert any("convnet_int8.tflite" in m for m in harness.events.messages("error"))


RUNNING = """
# A held-out tune rendered by FluidSynth stands in for the microphone.
[nodes.mic]
type = "audio_file"
path = "{wav}"
loop = false

[nodes.timbre]
type = "timbre"
inputs.audio = "mic.audio"
params.instrument1 = 1.0

# The speakers: PipeWire's null sink; what it plays comes back on its monitor.
[nodes.speakers]
type = "speakers"
device = "pipewire"
inputs.audio = "timbre.audio"

[nodes.monitor]
type = "microphone"
device = "pipewire"
channels = 1

[nodes.heard]
type = "test_collect"
inputs.value = "monitor.audio"
"""


def _play_tune_through_the_patch(wav: str, seconds: float) -> dict:
    import time

    from engine.events import EventLog
    from engine.graph import Engine
    from engine.patch import parse_patch
    from tests.nodes_for_tests import RECEIVED

    eng = Engine(parse_patch(RUNNING.format(wav=wav)), events=EventLog())
    eng.start()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            eng.step(0.01)
        underflows = eng.runners["speakers"].node.ring.underflows
    finally:
        eng.stop()
    audio = np.concatenate([p.value[:, 0] for p, _ in RECEIVED["heard"]])
    return {"audio": audio, "underflows": underflows, "messages": eng.events.messages()}


def test_a_held_out_tune_played_through_the_running_patch_comes_out_at_its_pitch(pipewire, tmp_path):
    import shutil

    import soundfile

    from tests.conftest import in_child_process, require
    pytest.importorskip("music21")
    from models.common import audio_data
    require(shutil.which("fluidsynth") is not None, "fluidsynth (apt install fluidsynth)")
    tune = next(t for t in audio_data.list_tunes() if t.split == "test")
    melody = audio_data.notes(tune, max_seconds=8.0)
    rendered = audio_data.render(melody, audio_data.INSTRUMENTS["flute"])
    soundfile.write(tmp_path / "tune.wav", rendered, audio_data.SAMPLE_RATE)
    labels = audio_data.labels(melody, len(rendered) // audio_data.HOP)      # score f0 per 10 ms
    result = in_child_process(_play_tune_through_the_patch, str(tmp_path / "tune.wav"), 9.0)
    assert len(result["audio"]) > RATE * 5, result["messages"]
    tracker = PitchTracker(RATE)
    frames = tracker.feed(result["audio"])
    heard = np.array([f.f0_hz if f.voiced else 0.0 for f in frames])[::2]   # per 10 ms
    # The round trip's delay is unknown: line the heard pitch up with the score.
    def agreement(lag):
        h, s = heard[lag:lag + len(labels)], labels[:len(heard) - lag]
        both = (h > 0) & (s > 0)
        return np.mean(np.abs(np.log2(h[both] / s[both])) < 0.05) if both.sum() > 100 else 0.0
    lag = max(range(0, 100), key=agreement)
    h, s = heard[lag:lag + len(labels)], labels[:len(heard) - lag]
    # Steady parts of notes: the score's pitch the same 40 ms either side.
    steady = (s > 0) & (h > 0) & (np.convolve(np.abs(np.diff(s, prepend=0)) > 0, np.ones(9), "same") == 0)
    cents = 1200 * np.abs(np.log2(h[steady] / s[steady]))
    print(f"lag {lag * 10} ms, {steady.sum()} steady frames: median {np.median(cents):.1f} cents, "
          f"{np.mean(cents > 50) * 100:.1f} % over 50 cents, underflows {result['underflows']}")
    assert steady.sum() > 200
    assert np.median(cents) < 10
    assert np.mean(cents > 50) < 0.05


def test_a_swapped_model_goes_on_from_the_old_ones_state_without_a_click():
    audio = voice(440.0, 1.2)
    with NodeHarness("timbre", options={"path": str(SHIPPED)}, name="timbre") as old, \
            NodeHarness("timbre", options={"path": str(SHIPPED)}, name="timbre") as new:
        assert old.open() and new.open()
        before, _ = play(old, audio[:RATE // 2])
        new.node.take_over(old.node)
        after, _ = play(new, audio[RATE // 2 // BLOCK * BLOCK:])
        joined = np.concatenate([before, after])
        edge = len(before)
        # The step across the swap is no bigger than the sound's own steps around it.
        typical = np.abs(np.diff(joined[edge - 2000:edge + 2000])).max()
        assert abs(float(after[0]) - float(before[-1])) <= typical
        assert after[:BLOCK].std() > 0.2 * before[-BLOCK:].std()      # no gap either


def test_the_room_rings_on_after_the_note(node):
    def tail(reverb):
        node.set_param("reverb", reverb, fade_s=0)
        out, _ = play(node, np.concatenate([voice(440.0, 0.5), np.zeros(RATE // 2, np.float32)]))
        return out[-RATE // 2 + 4800:-RATE // 2 + 9600].std()        # 100-200 ms after the note ends

    dry, wet = tail(0.0), tail(0.8)
    assert wet > 10 * max(dry, 1e-6)
