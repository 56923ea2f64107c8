import numpy as np
import pytest

from engine.harness import NodeHarness
from engine.packet import Packet

RATE, BLOCK = 48000, 256


def feed(node, signal: np.ndarray) -> list[dict]:
    outputs = []
    for i in range(0, len(signal) - BLOCK + 1, BLOCK):
        out = node.feed(audio=Packet(signal[i:i + BLOCK].reshape(-1, 1), 1_000_000 + i * 1_000_000 // RATE))
        if out:
            outputs.append({name: packet.value for name, packet in out.items()} | {"ts": out["onset"].ts_us})
    return outputs


def test_pitch_loudness_and_centroid_of_a_tone():
    t = np.arange(RATE) / RATE
    signal = (0.5 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    with NodeHarness("audio_analysis") as node:
        frames = feed(node, signal)
    assert len(frames) == pytest.approx(RATE / 1024, abs=2)              # ~47 analyses a second
    steady = frames[5:]
    assert np.median([f["pitch_hz"] for f in steady]) == pytest.approx(330, rel=0.003)
    assert min(f["pitch_confidence"] for f in steady) > 0.9
    assert np.median([f["loudness_db"] for f in steady]) == pytest.approx(-9.03, abs=0.1)
    assert np.median([f["centroid_hz"] for f in steady]) == pytest.approx(330, rel=0.05)
    stamps = [f["ts"] for f in frames]
    assert stamps == sorted(stamps)


def test_onsets_tempo_and_beat_phase_of_a_click_track():
    seconds, bpm = 10, 120
    signal = np.zeros(seconds * RATE, np.float32)
    clicks = np.arange(0, seconds, 60 / bpm)
    for click in clicks:
        start = int(click * RATE)
        signal[start:start + 480] = np.random.default_rng(int(click * 10)).uniform(-0.8, 0.8, 480)
    with NodeHarness("audio_analysis") as node:
        frames = feed(node, signal)
    onsets = [f["ts"] for f in frames if f["onset"] == 1.0]
    assert len(onsets) == pytest.approx(len(clicks), abs=1)
    gaps = np.diff(onsets) / 1e6
    assert np.median(gaps) == pytest.approx(0.5, abs=0.03)
    assert frames[-1]["tempo_bpm"] == pytest.approx(120, abs=3)
    phases = [f["beat_phase"] for f in frames[-40:]]
    assert min(phases) == 0.0 and max(phases) > 0.8                     # rises between beats


def test_the_options_must_hold_the_lowest_pitch():
    from engine.patch import PatchError, parse_patch
    with pytest.raises(PatchError) as error:
        parse_patch('[nodes.a]\ntype = "audio_analysis"\nframe = 512\n[nodes.t]\ntype = "tone"\n'
                    '\n[nodes.a.inputs]\naudio = "t.audio"\n', "x.toml")
    assert error.value.problems == [
        'x.toml: node "a", key "fmin": a 512-sample frame at 48000 Hz cannot hold two periods of 60 Hz; '
        'raise fmin or frame']
