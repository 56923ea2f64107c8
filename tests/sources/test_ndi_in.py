"""NDI with the real runtime (cyndilib's wheel carries it): an engine's
output sent as an NDI source and received back by name on the same machine,
latency read from the timestamp the test pattern burns into its pixels; a
source that is not there yet is found when it appears; and without cyndilib
the nodes say so once while the show runs on.

This machine runs no mDNS daemon, so the nodes ask 127.0.0.1 directly
(`ips`), as a performer would for a machine on another subnet."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from engine import ndi, timecode
from engine.events import EventLog
from engine.graph import Engine
from engine.patch import parse_patch
from tests.conftest import require, wait_for
from tests.nodes_for_tests import RECEIVED

SENDER = """
# The ruler: its engine time burned into every frame.
[nodes.pattern]
type = "test_pattern"
width = 320
height = 240
fps = 30

# The picture out as an NDI source.
[nodes.out]
type = "ndi_out"
name = "{name}"
ips = "127.0.0.1"
inputs.video = "pattern.video"
"""

RECEIVER = """
# An NDI source on this machine, by part of its name.
[nodes.feed]
type = "ndi"
source = "{name}"
ips = "127.0.0.1"
find_s = 0.5

# What came in.
[nodes.got]
type = "test_collect"
inputs.value = "feed.video"
"""


@pytest.fixture
def cyndilib():
    try:
        import cyndilib as module
    except ImportError:
        module = None
    require(module is not None, f"cyndilib ({ndi.INSTALL_HINT})")
    return module


def unique(name: str) -> str:
    return f"ts-test-{name}-{os.getpid()}"


def test_a_show_sent_as_ndi_comes_back_by_name_with_its_timestamps(cyndilib):
    name = unique("loop")
    eng = Engine(parse_patch(SENDER.format(name=name) + RECEIVER.format(name=name)), events=EventLog())
    eng.start()
    try:
        assert wait_for(eng, lambda: len(RECEIVED.get("got", [])) >= 45, 20), eng.events.recent
        sent = eng.runners["out"].node.status()
    finally:
        eng.stop()
    frames = RECEIVED["got"][5:]
    assert all(p.value.shape == (240, 320, 3) and p.value.dtype == np.uint8 for p, _ in frames)
    stamps = [(timecode.read(p.value), arrived) for p, arrived in frames]
    latencies_ms = [timecode.age_ms(ts, arrived) for ts, arrived in stamps if ts is not None]
    # NDI's compression keeps the burned timestamp readable, and each arrives once, later than it left.
    assert len(latencies_ms) >= 0.9 * len(frames)
    assert len({ts for ts, _ in stamps}) == len(stamps)
    assert 0 < np.median(latencies_ms) < 1000
    assert sent["ndi/frames_out"] >= 45 and sent["ndi/receivers"] >= 1


def test_a_source_that_is_not_there_yet_is_taken_when_it_appears(cyndilib):
    name = unique("late")
    receiver = Engine(parse_patch(RECEIVER.format(name=name)), events=EventLog())
    receiver.start()
    sender = None
    try:
        assert wait_for(receiver, lambda: any("no NDI source named like" in e.message
                                              for e in receiver.events.recent), 10)
        assert not RECEIVED.get("got")
        sender = Engine(parse_patch(SENDER.format(name=name)), events=EventLog())
        sender.start()
        assert wait_for(receiver, lambda: len(RECEIVED.get("got", [])) >= 10, 20), receiver.events.recent
        # The sender stops: the source is lost after its timeout, and taken again when it returns.
        sender.stop()
        feed = receiver.runners["feed"].stats
        assert wait_for(receiver, lambda: "sent nothing" in feed.last_error, 10), feed.last_error
        before = len(RECEIVED["got"])
        sender = Engine(parse_patch(SENDER.format(name=name)), events=EventLog())
        sender.start()
        assert wait_for(receiver, lambda: len(RECEIVED["got"]) >= before + 10, 20), receiver.events.recent
    finally:
        receiver.stop()
        if sender is not None:
            sender.stop()


def test_without_cyndilib_both_nodes_say_so_once_and_the_show_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "cyndilib", None)       # import cyndilib raises ImportError
    monkeypatch.setattr(ndi, "_loaded", {})
    name = unique("absent")
    eng = Engine(parse_patch(SENDER.format(name=name) + RECEIVER.format(name=name).replace(
        'inputs.value = "feed.video"', 'inputs.value = "pattern.video"')), events=EventLog())
    eng.start()
    try:
        assert wait_for(eng, lambda: len(RECEIVED.get("got", [])) >= 20, 10)
    finally:
        eng.stop()
    said = [e.message for e in eng.events.recent if ndi.INSTALL_HINT in e.message]
    assert len(said) == 2, said
    assert {"out", "feed"} == {e.node for e in eng.events.recent if ndi.INSTALL_HINT in e.message}


SOUND = """
# A 440 Hz tone beside the picture.
[nodes.tone]
type = "tone"
params.frequency = 440.0
params.level_db = -6.0
"""


def test_the_sound_goes_out_with_the_picture(cyndilib):
    """ndi_out with audio connected, received by a plain NDI receiver (as
    TouchDesigner's NDI In would): a 440 Hz tone arrives."""
    name = unique("sound")
    text = SENDER.format(name=name).replace('inputs.video = "pattern.video"',
                                            'inputs.video = "pattern.video"\ninputs.audio = "tone.audio"') + SOUND
    eng = Engine(parse_patch(text), events=EventLog())
    eng.start()
    finder = receiver = None
    try:
        assert wait_for(eng, lambda: eng.runners["out"].node.frames > 5, 10)
        finder = cyndilib.Finder()
        finder.open()
        finder.wait_for_sources(5)
        assert wait_for(eng, lambda: any(name in n for n in finder.get_source_names()), 10), \
            finder.get_source_names()
        source = next(s for s in finder if name in s.name)
        receiver = cyndilib.Receiver()
        sound = cyndilib.AudioFrameSync()
        receiver.frame_sync.set_audio_frame(sound)
        receiver.set_source(source)
        got: list[np.ndarray] = []

        def take() -> bool:
            # The frame synchroniser hands out silence until the stream's audio has settled in.
            if receiver.frame_sync.audio_samples_available() > 0:
                receiver.frame_sync.capture_available_audio()
                got[:] = [np.array(sound.get_array()[0, -16384:], copy=True)]
            return bool(got) and len(got[0]) == 16384 and np.abs(got[0]).max() > 0.1
        assert wait_for(eng, take, 20), [np.abs(a).max() for a in got]
    finally:
        if receiver is not None:
            receiver.disconnect()
        if finder is not None:
            finder.close()
        eng.stop()
    samples, rate = got[0], sound.sample_rate
    assert rate == 48000
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(16384)))
    assert abs(np.argmax(spectrum) * rate / 16384 - 440.0) < 6.0
