"""The phrase node with the shipped models: it answers after the performer's
pause and stops when they play again, `/phrase/stop` and `off` silence it,
`continue` keeps playing without a microphone and never runs dry, a swap
keeps what it heard, and a model of another kind is refused naming the file."""
import time

import numpy as np
import pytest

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.processors.phrase import SHIPPED

RATE, BLOCK = 48000, 256
_stamp = [0]


def voice(f0, seconds, level=0.2):
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(level / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3)).astype(np.float32)


# A scale up and back in G major, then silence.
SCALE = np.concatenate([voice(f, 0.25) for f in (392, 440, 494, 523, 587, 523, 494, 440, 392)])


def play(node, audio, pace_s=0.0003):
    """Feed blocks (a little paced, so the composer thread gets its turn); outputs per block."""
    out = []
    for i in range(0, len(audio) - BLOCK + 1, BLOCK):
        _stamp[0] += 1
        out.append(node.feed(audio=Packet(audio[i:i + BLOCK, None], _stamp[0])))
        time.sleep(pace_s)
    return out


def playing(outputs):
    return np.array([o["playing"].value for o in outputs])


@pytest.fixture
def node():
    with NodeHarness("phrase", options={"path": str(SHIPPED)}, name="phrase") as harness:
        assert harness.open(), harness.events.messages("error")
        harness.set_param("answer_after_s", 0.5, fade_s=0)
        yield harness


def test_it_answers_after_the_pause_and_yields_when_the_performer_plays_again(node):
    out = play(node, np.concatenate([SCALE, np.zeros(RATE * 2, np.float32)]))
    on = playing(out)
    first = int(np.argmax(on > 0)) * BLOCK / RATE
    # The scale ends at 2.25 s; the answer comes 0.5 s of silence later (plus the tracker's window).
    assert 2.6 < first < 3.1
    sound = np.concatenate([o["audio"].value[:, 0] for o in out])
    assert sound[int(first * RATE) + RATE // 2:].std() > 1e-3
    notes = [o["f0_hz"].value for o in out if o["f0_hz"].value > 0]
    assert len(notes) > 50 and all(100 < f < 2000 for f in notes)
    again = play(node, voice(330.0, 0.5))
    assert playing(again)[-1] == 0.0


def test_stop_and_off_silence_it(node):
    out = play(node, np.concatenate([SCALE, np.zeros(RATE * 2, np.float32)]))
    assert playing(out)[-1] == 1.0
    node.node.post_command("stop", ())
    after = play(node, np.zeros(RATE // 2, np.float32))
    assert playing(after)[-1] == 0.0
    node.set_param("mode", "off", fade_s=0)
    out = play(node, np.concatenate([SCALE, np.zeros(RATE * 2, np.float32)]))
    assert playing(out).max() == 0.0


def test_continue_mode_without_a_microphone_never_runs_dry():
    options = {"path": str(SHIPPED), "play": "controls", "lead_blocks": 0}
    with NodeHarness("phrase", options=options, name="phrase") as harness:
        assert harness.open() and harness.runner.is_source
        harness.set_param("mode", "continue", fade_s=0)
        states, notes = [], []
        for _ in range(int(10 * RATE / BLOCK)):             # 10 s of blocks, faster than real time
            out = harness.step()
            states.append(out["playing"].value)
            notes.append(out["f0_hz"].value)
            time.sleep(0.0002)
        assert min(states[20:]) == 1.0                       # playing throughout, after the first blocks
        assert np.mean(np.array(notes) > 0) > 0.5            # and mostly notes, not rests
        assert len(harness.node.composer.queue) > 0          # still ahead at the end


def test_a_swap_keeps_what_was_heard(node):
    play(node, SCALE)
    with NodeHarness("phrase", options={"path": str(SHIPPED)}, name="phrase") as other:
        assert other.open()
        other.node.take_over(node.node)
        assert len(other.node.heard) == len(node.node.heard) > 50


def test_a_model_of_another_kind_is_refused_naming_the_file():
    other = SHIPPED.parents[1] / "timbre" / "timbre.tflite"
    with NodeHarness("phrase", options={"path": str(other)}, name="phrase") as harness:
        assert not harness.open()
        assert any("timbre.tflite" in m for m in harness.events.messages("error"))
