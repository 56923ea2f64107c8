import re

import cv2
import numpy as np
import pytest

from engine import timecode
from engine.harness import NodeHarness
from engine.node import EngineContext
from engine.packet import Packet
from engine.sinks.recorder import Mp4Recorder


def frames_in(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def frame(ts: int) -> np.ndarray:
    image = np.full((120, 160, 3), 60, np.uint8)
    timecode.burn(image, ts)
    return image


def test_frames_are_placed_on_the_timeline_by_their_timestamps(tmp_path):
    recorder = Mp4Recorder(tmp_path / "a.mp4", fps=30.0, max_seconds=60, max_megabytes=100)
    for i in range(11):                          # one second of a 10 fps stream
        ts = 1_000_000 + i * 100_000
        recorder.write(frame(ts), ts)
    recorder.close()
    frames = frames_in(tmp_path / "a.mp4")
    assert len(frames) == 31                     # 30 fps file, one second long, plus the last frame
    stamps = [timecode.read(f) for f in frames]
    assert stamps[:4] == [1_000_000, 1_000_000, 1_000_000, 1_100_000]   # held until the next one
    assert stamps[-1] == 2_000_000


def test_a_faster_stream_is_thinned_to_the_file_rate(tmp_path):
    recorder = Mp4Recorder(tmp_path / "b.mp4", fps=10.0, max_seconds=60, max_megabytes=100)
    for i in range(100):                         # one second at 100 fps
        recorder.write(frame(i * 10_000), i * 10_000)
    recorder.close()
    assert len(frames_in(tmp_path / "b.mp4")) == 10


def test_recording_stops_at_its_duration_cap_and_the_node_says_so(tmp_path):
    options = {"path": str(tmp_path / "{patch}.mp4"), "fps": 10.0, "max_seconds": 1.0}
    with NodeHarness("recorder", options=options, name="rec", context=EngineContext(output_dir=tmp_path)) as node:
        for i in range(30):
            node.feed(video=Packet(frame(i * 100_000 + 1), i * 100_000 + 1))
    assert len(frames_in(tmp_path / "patch.mp4")) == 10
    assert node.events.messages() == [
        f"[rec] recording to {tmp_path / 'patch.mp4'}",
        f"[rec] recording stopped: reached the cap of 1 s ({tmp_path / 'patch.mp4'})"]


def test_a_long_gap_past_the_cap_stops_cleanly(tmp_path):
    recorder = Mp4Recorder(tmp_path / "c.mp4", fps=10.0, max_seconds=2, max_megabytes=100)
    recorder.write(frame(0), 0)
    recorder.write(frame(3_600_000_000), 3_600_000_000)   # an hour later: hold, up to the cap
    recorder.write(frame(3_600_100_000), 3_600_100_000)
    recorder.close()
    assert recorder.stopped_reason == "reached the cap of 2 s"
    assert len(frames_in(tmp_path / "c.mp4")) == 20


def test_sound_is_recorded_to_a_wav_beside_the_video(tmp_path):
    import soundfile

    options = {"path": "show.mp4", "fps": 10.0, "max_seconds": 60.0}           # relative: in the output folder
    with NodeHarness("recorder", options=options, name="rec", context=EngineContext(output_dir=tmp_path)) as node:
        t = np.arange(256) / 48000
        for i in range(30):
            block = (0.5 * np.sin(2 * np.pi * 440 * (t + i * 256 / 48000))).astype(np.float32)[:, None]
            node.push("audio", Packet(block, 1000 + i * 5333))
            if i % 10 == 0:
                node.push("video", Packet(frame(1000 + i * 5333), 1000 + i * 5333))
            node.step()
    sound, rate = soundfile.read(tmp_path / "show.wav")
    assert rate == 48000 and len(sound) == 30 * 256
    assert np.abs(sound).max() == pytest.approx(0.5, abs=0.01)
    assert len(frames_in(tmp_path / "show.mp4")) >= 1


@pytest.mark.parametrize("template, problem", [
    ("/tmp/elsewhere/owned.mp4", "leads out of the output folder"),
    ("{output_dir}/../owned.mp4", "leads out of the output folder"),
    ("link/owned.mp4", "leads out of the output folder"),
    ("{output_dir.__class__}.mp4", "unknown placeholder {output_dir.__class__}"),
    ("{0}.mp4", "unknown placeholder {0}"),
])
def test_a_recording_is_never_written_outside_the_output_folder(tmp_path, template, problem):
    from engine.sinks.recorder import output_path
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match=re.escape(problem)):
        output_path(template, EngineContext(output_dir=out, patch_name="show"))
    assert output_path("{output_dir}/{patch}.mp4", EngineContext(output_dir=out, patch_name="show")) == \
        out / "show.mp4"
    assert list(tmp_path.iterdir()) == [out]
