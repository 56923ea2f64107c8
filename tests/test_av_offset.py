"""The A/V offset on the status stream: picture latency at the video sink minus
sound latency at the speakers (including the device), on the engine clock."""

import time

from engine.events import EventLog
from engine.graph import Engine
from engine.node import EngineContext
from engine.osc.address_space import status_addresses
from engine.osc.bridge import OscBridge, OscConfig
from engine.patch import parse_patch

PATCH = """
[nodes.pattern]
type = "test_pattern"
width = 160
height = 120

[nodes.file]
type = "recorder"
inputs.video = "pattern.video"
path = "av.mp4"

[nodes.tone]
type = "tone"
block = 256

[nodes.speakers]
type = "speakers"
device = "pipewire"
block = 256
inputs.audio = "tone.audio"
"""


def test_av_offset_is_reported_with_both_sinks(pipewire, tmp_path):
    patch = parse_patch(PATCH.format(out=tmp_path))
    assert "/tensorstage/av_offset_ms" in {a.address for a in status_addresses(patch)}
    eng = Engine(patch, EngineContext(output_dir=tmp_path), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=None, query=False))
    eng.start()
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            eng.step(0.01)
        offset = eng.av_offset_ms()
        speakers = eng.runners["speakers"].node
        picture = eng.runners["file"].stats.latency_ms.percentile(50)
        sound = eng.runners["speakers"].stats.latency_ms.percentile(50) + speakers.latency_ms()
        assert offset is not None and abs(offset - (picture - sound)) < 10   # the streams run on meanwhile
        assert -1000 < offset < 1000                                  # loose sanity only
        assert speakers.latency_ms() > 0                              # the device's share is in it
        sent = dict(bridge.status_messages())
        assert "/tensorstage/av_offset_ms" in sent
        assert sent["/tensorstage/xruns"][0] >= 0                      # and the speakers' underflows
    finally:
        eng.stop()


def test_no_offset_without_speakers(tmp_path):
    patch = parse_patch(PATCH.format(out=tmp_path).split("[nodes.tone]")[0])
    assert "/tensorstage/av_offset_ms" not in {a.address for a in status_addresses(patch)}
    assert Engine(patch, events=EventLog()).av_offset_ms() is None
