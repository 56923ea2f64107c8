"""A real round trip on PipeWire's null sink: the tone source plays through the
speakers sink while the microphone source records the sink's monitor, over one
duplex stream (`duplex = true`) and over two streams (the default here), with
the streams in the audio process (the default) and in the engine's process."""

import time

import numpy as np
import pytest

from engine.events import EventLog
from engine.graph import Engine
from engine.patch import parse_patch
from tests.conftest import in_child_process
from tests.nodes_for_tests import RECEIVED

PATCH = """
# The test tone, silent until the test raises its level.
[nodes.tone]
type = "tone"
params.frequency = 1000.0
params.level_db = -90.0

# The speakers: PipeWire's default sink (a null sink here).
[nodes.speakers]
type = "speakers"
device = "pipewire"
inputs.audio = "tone.audio"

# The microphone: PipeWire's default source, the null sink's monitor.
[nodes.mic]
type = "microphone"
device = "pipewire"
channels = 2

# Keeps what the microphone heard.
[nodes.heard]
type = "test_collect"
inputs.value = "mic.audio"
"""


# (duplex, in the audio process): the ways a patch can run its streams.
DESIGNS = [(True, True), (False, True), (False, False)]
DESIGN_IDS = ["one_duplex_stream", "two_streams", "two_streams_in_process"]


def patch_text(duplex: bool, process: bool = True) -> str:
    """One duplex stream when asked; else two (what `auto` does on PipeWire)."""
    text = PATCH.replace('device = "pipewire"', 'device = "pipewire"\nduplex = true') if duplex else PATCH
    return text if process else "[audio]\nprocess = false\n" + text


def run_engine(eng: Engine, seconds: float, until=None) -> bool:
    """Step the engine for `seconds`, or until `until()` holds (then True)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        eng.step(0.01)
        if until is not None and until():
            return True
    return until is None


def round_trip(duplex: bool, process: bool) -> dict:
    eng = Engine(parse_patch(patch_text(duplex, process)), events=EventLog())
    eng.start()
    try:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            eng.step(0.01)
        from engine.clock import now_us
        on_us = now_us()
        eng.store.set("tone/level_db", -12.0, fade_s=0)
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            eng.step(0.01)
        speakers = eng.runners["speakers"].node
        figures = {"underflows": speakers.ring.underflows, "device_underflows": speakers.device_underflows,
                   "latency_ms": speakers.latency_ms(), "nonfinite": speakers.safety.nonfinite_blocks}
    finally:
        eng.stop()
    blocks = [(p.ts_us, p.value) for p, _ in RECEIVED["heard"]]
    return {"blocks": blocks, "on_us": on_us, "figures": figures, "messages": eng.events.messages()}


@pytest.mark.parametrize("duplex,process", DESIGNS, ids=DESIGN_IDS)
def test_a_tone_comes_back_at_its_frequency_with_a_measured_round_trip(pipewire, duplex, process):
    result = in_child_process(round_trip, duplex, process)
    shared = [m for m in result["messages"] if "one duplex stream" in m]
    assert len(shared) == (2 if duplex else 0), result["messages"]   # the microphone and the speakers say so
    blocks, on_us = result["blocks"], result["on_us"]
    assert len(blocks) > 300, result["messages"]
    stamps = [ts for ts, _ in blocks]
    assert stamps == sorted(stamps)                          # capture times only go up
    audio = np.concatenate([b for _, b in blocks])[:, 0]
    rate = 48000
    # Where the tone starts in the recording, on the engine clock.
    first_loud = next(i for i, (_, b) in enumerate(blocks) if np.abs(b).max() > 0.05)
    offset = int(np.argmax(np.abs(blocks[first_loud][1][:, 0]) > 0.05))
    heard_us = blocks[first_loud][0] + offset * 1e6 / rate
    round_trip_ms = (heard_us - on_us) / 1000
    assert 0 < round_trip_ms < 500, round_trip_ms
    # The frequency of what came back, from the last second.
    tail = audio[-rate:]
    spectrum = np.abs(np.fft.rfft(tail * np.hanning(len(tail))))
    peak_hz = np.argmax(spectrum) * rate / len(tail)
    assert abs(peak_hz - 1000) < 5
    assert np.abs(tail).max() < 0.3                          # -12 dBFS, through the limiter untouched
    assert result["figures"]["nonfinite"] == 0
    print(f"{'duplex' if duplex else 'two streams'}: round trip {round_trip_ms:.1f} ms; {result['figures']}")


PLAYED = """
# A control stream: the pitch to play.
[nodes.pitch]
type = "test_level"
params.value = 700.0

# The synth, clocked by the speakers' demand, its pitch read from the stream.
[nodes.tone]
type = "tone"
params.level_db = -12.0
inputs.frequency_hz = "pitch.value"

[nodes.speakers]
type = "speakers"
device = "pipewire"
inputs.audio = "tone.audio"

[nodes.mic]
type = "microphone"
device = "pipewire"
channels = 2

[nodes.heard]
type = "test_collect"
inputs.value = "mic.audio"
"""


def play_by_control() -> dict:
    eng = Engine(parse_patch(PLAYED), events=EventLog())
    eng.start()
    peaks = []
    try:
        for hz in (700.0, 1200.0):
            eng.store.set("pitch/value", hz, fade_s=0)
            before = len(RECEIVED["heard"])
            run_engine(eng, 1.5)
            audio = np.concatenate([p.value for p, _ in RECEIVED["heard"][before:]])[-48000:, 0]
            spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
            peaks.append(float(np.argmax(spectrum) * 48000 / len(audio)))
        speakers, tone = eng.runners["speakers"].node, eng.runners["tone"].node
        figures = {"xruns": speakers.xruns, "device_clocked": tone.clock.device_clocked,
                   "latency_ms": eng.runners["speakers"].stats.latency_ms.percentile(50)}
    finally:
        eng.stop()
    return {"peaks": peaks, "figures": figures, "messages": eng.events.messages()}


def test_a_generator_plays_the_pitch_a_control_stream_gives_clocked_by_the_device(pipewire):
    """The tone reads its pitch from a control stream without being triggered
    by it, and makes blocks when the speakers want them (the device's clock)."""
    result = in_child_process(play_by_control)
    assert abs(result["peaks"][0] - 700) < 5 and abs(result["peaks"][1] - 1200) < 5, result
    assert result["figures"]["device_clocked"], result
    assert result["figures"]["xruns"] < 20, result                 # loose: bench audio records 0
    assert result["figures"]["latency_ms"] < 100, result             # never queued up ahead


BRACED = """
# A tone clocked by the speakers, and a node whose open takes a while (a model loading).
[nodes.tone]
type = "tone"
params.level_db = -30.0

[nodes.speakers]
type = "speakers"
device = "pipewire"
inputs.audio = "tone.audio"

[nodes.model]
type = "test_slow_open"
open_s = 0.3
label = "{label}"
inputs.value = "ticks.value"

[nodes.ticks]
type = "test_ticks"
"""


def brace_during_a_reload() -> dict:
    eng = Engine(parse_patch(BRACED.format(label="a")), events=EventLog())
    eng.start()
    speakers = eng.runners["speakers"].node
    fills: dict[str, list[int]] = {"before": [], "opening": [], "after": []}
    try:
        run_engine(eng, 1.5)
        for _ in range(50):
            eng.step(0.01)
            fills["before"].append(speakers.ring.fill)
        eng.change_option("model", "label", "b")            # reopens the model node beside the show
        run_engine(eng, 3, until=lambda: eng.context.bracing.is_set())
        while eng.context.bracing.is_set():
            eng.step(0.01)
            fills["opening"].append(speakers.ring.fill)
        run_engine(eng, 0.5)
        for _ in range(50):
            eng.step(0.01)
            fills["after"].append(speakers.ring.fill)
        return {"fills": {k: max(v) if v else 0 for k, v in fills.items()}, "keep": speakers.keep_frames,
                "xruns": speakers.xruns, "labels": eng.runners["model"].decl.options["label"]}
    finally:
        eng.stop()


def test_generators_fill_deeper_while_a_reload_opens_a_node_beside_the_sound(pipewire):
    """A model's load holds Python's interpreter lock for tens of ms: while the
    engine opens nodes beside the show, the tone runs further ahead of the
    device, and comes back to its usual depth afterwards."""
    result = in_child_process(brace_during_a_reload)
    fills, keep = result["fills"], result["keep"]
    assert result["labels"] == "b", result
    assert fills["before"] <= keep, result
    assert fills["opening"] > keep + 256, result                   # at least a block deeper
    assert fills["after"] <= keep, result
