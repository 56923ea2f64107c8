"""Which nodes share a PortAudio stream, and what happens to it as they come and
go. The logic is checked against a stand-in for sounddevice that records what
was opened; test_loopback.py runs the real duplex stream on PipeWire."""

import numpy as np
import pytest

from engine.audio import device, stream
from engine.audio.stream import INPUT, OUTPUT, DeviceLost, Side


class FakeStream:
    def __init__(self, kind, sd, **kwargs):
        if kind == "duplex" and sd.refuse_duplex:
            raise RuntimeError("Illegal combination of I/O devices")
        if sd.gone:
            raise RuntimeError("Error querying device")
        self.kind, self.kwargs, self.active = kind, kwargs, False
        self.latency = (0.01, 0.02) if kind == "duplex" else 0.015
        sd.opened.append(self)

    def start(self):
        self.active = True

    def abort(self):
        self.active = False

    def close(self):
        self.active = False


class FakeSoundDevice:
    """Two devices: 0 'both' (in and out, the default) and 1 'speaker' (out only)."""

    def __init__(self):
        self.opened: list[FakeStream] = []
        self.refuse_duplex = False
        self.gone = False
        self.host_api = "ALSA"
        self.reinitialized = 0

    def query_devices(self, device=None, kind=None):
        index = {None: 0, "both": 0, 0: 0, "speaker": 1, 1: 1}[device]
        if kind == "input" and index == 1:
            raise ValueError("No input device matching 'speaker'")
        return {"index": index, "name": ["both", "speaker"][index], "hostapi": 0}

    def query_hostapis(self, index):
        return {"name": self.host_api}

    def _terminate(self):
        self.reinitialized += 1

    def _initialize(self):
        pass

    def Stream(self, **kwargs):  # noqa: N802 - sounddevice's names
        return FakeStream("duplex", self, **kwargs)

    def InputStream(self, **kwargs):  # noqa: N802
        return FakeStream("input", self, **kwargs)

    def OutputStream(self, **kwargs):  # noqa: N802
        return FakeStream("output", self, **kwargs)


@pytest.fixture
def sd(monkeypatch):
    fake = FakeSoundDevice()
    monkeypatch.setattr(stream, "sounddevice", lambda: fake)
    monkeypatch.setattr(device, "sounddevice", lambda: fake)
    yield fake
    assert not stream._streams, "a test left a stream registered"


def side(channels, log=None):
    calls = [] if log is None else log
    return Side(channels, 0.02, lambda buf, frames, time, status: calls.append(buf.shape),
                lambda name, duplex, latency_s: calls.append(("opened", name, duplex)))


def test_a_microphone_and_speakers_on_one_device_share_one_duplex_stream(sd):
    speakers, mic = side(2), side(1)
    out = stream.join(OUTPUT, "both", 48000, 256, speakers, duplex=True)
    inp = stream.join(INPUT, "", 48000, 256, mic, duplex=True)          # the default is the same device
    assert out is inp
    inp.keep(0.5, now=True)
    assert [s.kind for s in sd.opened] == ["duplex"]
    assert sd.opened[0].kwargs["channels"] == (1, 2)
    assert inp.duplex and inp.latency_s == (0.01, 0.02)
    stream.leave(inp, mic)
    stream.leave(out, speakers)


def test_the_callback_feeds_each_side_and_plays_silence_without_speakers(sd):
    heard, played = [], []
    mic = side(1, heard)
    speakers = Side(2, 0.02, lambda buf, *_: (played.append(buf.shape), buf.fill(0.5)), lambda *_: None)
    shared = stream.join(INPUT, "both", 48000, 256, mic, duplex=True)
    stream.join(OUTPUT, "both", 48000, 256, speakers, duplex=True)
    shared.keep(0.5, now=True)
    indata, outdata = np.zeros((256, 1), np.float32), np.ones((256, 2), np.float32)
    shared._duplex(indata, outdata, 256, None, None)
    assert heard[-1] == (256, 1) and played == [(256, 2)] and outdata.max() == 0.5
    stream.leave(shared, speakers)                           # the microphone keeps its stream...
    assert shared.stream is not None and len(sd.opened) == 1
    shared._duplex(indata, outdata, 256, None, None)
    assert outdata.max() == 0.0                              # ...and the device gets silence
    stream.leave(shared, mic)
    assert shared.stream is None


def test_different_blocks_rates_or_duplex_false_get_streams_of_their_own(sd):
    pairs = [((OUTPUT, "both", 48000, 256), (INPUT, "both", 48000, 128)),
             ((OUTPUT, "both", 48000, 256), (INPUT, "both", 44100, 256)),
             ((OUTPUT, "speaker", 48000, 256), (INPUT, "both", 48000, 256))]
    for first, second in pairs:
        a, b = side(2), side(1)
        one, other = stream.join(*first, a, duplex=True), stream.join(*second, b, duplex=True)
        assert one is not other, (first, second)
        stream.leave(one, a)
        stream.leave(other, b)
    a, b = side(2), side(1)
    one = stream.join(OUTPUT, "both", 48000, 256, a, duplex=True)
    other = stream.join(INPUT, "both", 48000, 256, b, duplex=False)
    assert one is not other
    stream.leave(one, a)
    stream.leave(other, b)


def test_a_second_node_for_a_taken_direction_gets_its_own_stream(sd):
    first, second = side(2), side(2)
    one = stream.join(OUTPUT, "both", 48000, 256, first, duplex=True)
    other = stream.join(OUTPUT, "both", 48000, 256, second, duplex=True)
    assert one is not other and one.sides[OUTPUT] is first
    stream.leave(one, first)
    stream.leave(other, second)


def test_a_microphone_joining_running_speakers_reopens_the_stream_as_duplex(sd):
    log = []
    speakers, mic = side(2, log), side(1)
    shared = stream.join(OUTPUT, "both", 48000, 256, speakers, duplex=True)
    shared.keep(2.0)
    assert [s.kind for s in sd.opened] == ["output"]
    stream.join(INPUT, "both", 48000, 256, mic, duplex=True)
    assert [s.kind for s in sd.opened] == ["output", "duplex"]
    assert not sd.opened[0].active and sd.opened[1].active
    assert ("opened", "both", True) in log                  # the speakers are told (they fade in again)
    stream.leave(shared, mic)
    stream.leave(shared, speakers)


def test_a_device_that_refuses_duplex_keeps_the_speakers_and_falls_back_to_two_streams(sd):
    speakers, mic = side(2), side(1)
    shared = stream.join(OUTPUT, "both", 48000, 256, speakers, duplex=True)
    shared.keep(2.0)
    sd.refuse_duplex = True
    with pytest.raises(RuntimeError, match="Illegal combination"):
        stream.join(INPUT, "both", 48000, 256, mic, duplex=True)
    assert [s.kind for s in sd.opened] == ["output", "output"]   # the speakers play again at once
    assert shared.stream is not None and shared.sides[INPUT] is None
    assert "Illegal combination" in shared.refused_duplex
    own = stream.join(INPUT, "both", 48000, 256, mic, duplex=True)  # the next try: a stream of its own
    assert own is not shared
    own.keep(0.5, now=True)
    assert sd.opened[-1].kind == "input"
    stream.leave(own, mic)
    stream.leave(shared, speakers)


def test_a_stream_that_stops_is_closed_and_reopened_when_due(sd, monkeypatch):
    speakers = side(2)
    shared = stream.join(OUTPUT, "both", 48000, 256, speakers, duplex=True)
    shared.keep(2.0)
    sd.opened[-1].active = False                            # the server went away
    sd.gone = True
    with pytest.raises(DeviceLost):
        shared.keep(2.0)
    assert shared.stream is None
    shared.keep(2.0)                                        # not due yet: nothing is tried
    assert len(sd.opened) == 1
    with pytest.raises(RuntimeError, match="querying"):
        shared.keep(2.0, now=True)
    sd.gone = False
    shared.keep(2.0, now=True)
    assert shared.stream is not None and len(sd.opened) == 2
    stream.leave(shared, speakers)


def test_auto_shares_only_where_the_driver_gives_a_device_to_one_stream(sd):
    for host_api, shared in (("ALSA", False), ("Core Audio", False), ("ASIO", True)):
        sd.host_api = host_api
        speakers, mic = side(2), side(1)
        out = stream.join(OUTPUT, "both", 48000, 256, speakers)          # duplex = "auto"
        inp = stream.join(INPUT, "both", 48000, 256, mic)
        assert (out is inp) == shared, host_api
        stream.leave(out, speakers)
        stream.leave(inp, mic)


def test_a_stream_portaudio_will_not_close_is_left_behind_not_waited_for(sd, monkeypatch):
    """PortAudio's ALSA thread can loop forever once the server vanishes; then
    abort() never returns. The engine must carry on without it."""
    monkeypatch.setattr(device, "stuck_streams", 0)
    speakers = side(2)
    shared = stream.join(OUTPUT, "both", 48000, 256, speakers)
    shared.keep(2.0)
    stuck = sd.opened[-1]
    release = __import__("threading").Event()
    stuck.abort = lambda: release.wait(10)
    stuck.active = False
    monkeypatch.setattr(device, "close_stream", lambda s, timeout_s=0.2, real=device.close_stream: real(s, timeout_s))
    with pytest.raises(DeviceLost, match="would not close"):
        shared.keep(2.0)
    assert shared.left_behind == 1 and device.stuck_streams == 1
    assert device.reinitialize() is False and sd.reinitialized == 0   # Pa_Terminate would hang on it too
    shared.keep(2.0, now=True)                         # and a new stream opens beside it
    assert shared.stream is not None and len(sd.opened) == 2
    stream.leave(shared, speakers)
    release.set()
    monkeypatch.setattr(device, "stuck_streams", 0)
    assert device.reinitialize() is True and sd.reinitialized == 1   # what it does otherwise
