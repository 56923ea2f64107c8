"""`bench phrase`'s composing figures come from the node's own composer
answering an 8 s melody (loose sanity bounds only; the figures are the bench's)."""

from models.phrase.live_bench import HEARD_FRAMES, composing, heard_melody


def test_the_heard_melody_is_eight_seconds_of_notes():
    heard = heard_melody()
    assert len(heard) == HEARD_FRAMES and all(pitch > 0 for pitch, _ in heard)
    assert len({pitch for pitch, _ in heard}) == 8              # the scale's eight notes


def test_composing_reports_priming_and_one_second_apart():
    figures = composing()
    assert 0 < figures["first_frame_ms"] < figures["answer_total_ms"] < 5000
    assert figures["compose_1s_ms"] > 0 and figures["compose_x_realtime"] > 1
