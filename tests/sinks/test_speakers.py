"""The speakers sink without a device: it keeps trying, and says so without
filling the log (a device missing all night in an installation)."""

import time

import numpy as np

from engine.harness import NodeHarness
from engine.packet import Packet
from engine.sinks import speakers


def test_a_missing_output_device_is_retried_and_reported_once_a_minute(monkeypatch, portaudio):
    monkeypatch.setattr(speakers, "REPORT_FAILURES_EVERY_US", 300_000)
    block = np.zeros((256, 1), np.float32)
    with NodeHarness("speakers", options={"device": "no such device here", "retry_s": 0.1}) as node:
        end = time.monotonic() + 1.0
        ts = 1
        while time.monotonic() < end:
            node.feed(audio=Packet(block, ts))
            ts += 1
            time.sleep(0.02)
        reports = node.events.messages()
    failures = [m for m in reports if "cannot open the output device" in m]
    # Tried about ten times in the second, said 3-5 times: first, then every 0.3 s with a count.
    assert 2 <= len(failures) <= 5, reports
    assert "no such device here" in failures[0] and "tries since the last report" in failures[-1]
    assert node.stats["errors"] == 0                       # never a node error: the show goes on
