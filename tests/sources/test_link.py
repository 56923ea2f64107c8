"""Ableton Link with the real library (aalink): two engines in one process
are two Link peers on this machine, as two machines on a network would be."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from engine.clock import now_us
from engine.events import EventLog
from engine.graph import Engine
from engine.patch import parse_patch
from engine.sources import link as link_node
from engine.sources.link import INSTALL_HINT, beats_to_boundary
from tests.conftest import require, wait_for
from tests.nodes_for_tests import RECEIVED

PATCH = """
# A Link peer.
[nodes.link]
type = "link"
bpm = {bpm}
rate_hz = 100
params.quantize = "{quantize}"

# Its beat, as the streams carry it.
[nodes.beats_{tag}]
type = "test_collect"
inputs.value = "link.beat"

# Its tempo.
[nodes.tempo_{tag}]
type = "test_collect"
inputs.value = "link.tempo"

# Something a scene moves.
[nodes.tone]
type = "tone"
params.level_db = -40.0

[scenes.loud]
tone.level_db = -6.0
"""


@pytest.fixture
def aalink():
    try:
        import aalink as module
    except ImportError:
        module = None
    require(module is not None, f"aalink ({INSTALL_HINT})")
    return module


def engine(tag: str, bpm: float, quantize: str = "bar") -> Engine:
    eng = Engine(parse_patch(PATCH.format(tag=tag, bpm=bpm, quantize=quantize)), events=EventLog())
    eng.start()
    return eng


def test_the_next_beat_or_bar_in_beats():
    assert beats_to_boundary(beat=9.25, phase=1.25, quantum=4, quantize="bar") == pytest.approx(2.75)
    assert beats_to_boundary(beat=9.25, phase=1.25, quantum=4, quantize="beat") == pytest.approx(0.75)
    assert beats_to_boundary(beat=8.0, phase=0.0, quantum=4, quantize="bar") == 0.0
    assert beats_to_boundary(beat=9.25, phase=1.25, quantum=4, quantize="off") == 0.0


def test_two_peers_share_the_tempo_and_agree_on_the_beat_within_5_ms(aalink):
    a, b = engine("a", 120.0), engine("b", 90.0)
    try:
        assert wait_for(a, lambda: a.runners["link"].node.status()["link/peers"] >= 1
                        and b.runners["link"].node.status()["link/peers"] >= 1, 10)
        # B proposes a tempo: the session, A included, takes it.
        b.store.set("link/tempo", 133.0)
        assert wait_for(a, lambda: RECEIVED["tempo_a"] and abs(RECEIVED["tempo_a"][-1][0].value - 133.0) < 0.01, 5)
        RECEIVED["beats_a"].clear()
        RECEIVED["beats_b"].clear()
        wait_for(a, lambda: False, 2.0)
        beats_a = [p for p, _ in RECEIVED["beats_a"]]
        beats_b = [p for p, _ in RECEIVED["beats_b"]]
    finally:
        a.stop()
        b.stop()
    assert len(beats_a) > 100 and len(beats_b) > 100
    # Each of A's beats against B's timeline at the same engine time (B's nearest sample, carried at the tempo).
    times_b = np.array([p.ts_us for p in beats_b])
    off_ms = []
    for packet in beats_a:
        nearest = beats_b[int(np.argmin(np.abs(times_b - packet.ts_us)))]
        b_then = nearest.value + (packet.ts_us - nearest.ts_us) * 133.0 / 60e6
        off_ms.append((packet.value - b_then) * 60e3 / 133.0)
    assert np.percentile(np.abs(off_ms), 95) < 5.0, np.percentile(np.abs(off_ms), [50, 95, 100])


def test_a_scene_recall_waits_for_the_next_beat(aalink):
    eng = engine("q", 120.0, quantize="beat")
    try:
        node = eng.runners["link"].node
        assert wait_for(eng, lambda: node.link is not None, 5)
        wait_for(eng, lambda: False, 0.2)
        eng.store.recall("loud")
        asked = now_us()
        due = node.recall_at()
        assert due is None or due - asked <= 0.5e6 + 5e3       # a beat is 0.5 s at 120 bpm
        link = node.link
        at_due = link.beat + ((due or asked) - now_us()) * link.tempo / 60e6
        assert min(at_due % 1.0, 1.0 - at_due % 1.0) * 0.5e3 < 5.0    # ms from a whole beat
        if due is not None and due - now_us() > 20e3:
            assert eng.store.value("tone/level_db") == pytest.approx(-40.0)
        assert wait_for(eng, lambda: eng.store.value("tone/level_db") > -6.5, 1.0)
    finally:
        eng.stop()


def test_without_aalink_the_node_says_so_once_and_scenes_recall_at_once(monkeypatch):
    monkeypatch.setitem(sys.modules, "aalink", None)
    eng = engine("none", 120.0)
    try:
        assert wait_for(eng, lambda: any(INSTALL_HINT in e.message for e in eng.events.recent), 5)
        wait_for(eng, lambda: False, 1.2)
        eng.store.recall("loud")
        assert eng.store.value("tone/level_db") > -40.0 or wait_for(
            eng, lambda: eng.store.value("tone/level_db") > -6.5, 0.5)
    finally:
        eng.stop()
    assert sum(INSTALL_HINT in e.message for e in eng.events.recent) == 1
    assert link_node.LinkSource.type_name == "link"
