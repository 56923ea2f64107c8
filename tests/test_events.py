"""The event log never floods the console or grows with unique sources."""

from engine.events import ERROR, INFO, LINES_PER_S, MAX_KEYS, OSC, EventLog


def test_a_source_is_said_once_then_with_a_count():
    printed = []
    log = EventLog(printer=printed.append, repeat_s=5.0)
    for _ in range(10):
        log.add(ERROR, "style", "process failed")
    assert [str(e) for e in printed] == ["[style] process failed"] and log.counts[ERROR] == 10


def test_unique_sources_are_limited_per_second_and_forgotten_when_quiet():
    printed = []
    log = EventLog(printer=printed.append)
    for i in range(5000):
        log.add(OSC, f"/unknown/{i}", "unknown address; ignored")
    assert len(printed) <= LINES_PER_S * 2                   # a second boundary may fall inside the loop
    assert log.dropped >= 5000 - LINES_PER_S * 2
    assert len(log._last_printed) <= MAX_KEYS
    log.add(INFO, "camera", "reconnected")                   # plain information is never dropped
    assert str(printed[-1]) == "[camera] reconnected"
