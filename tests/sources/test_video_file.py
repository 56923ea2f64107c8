import time

import numpy as np

from engine import timecode
from engine.harness import NodeHarness
from engine.sinks.recorder import Mp4Recorder


def make_video(path, frames: int, fps: float = 10.0):
    recorder = Mp4Recorder(path, fps=fps, max_seconds=600, max_megabytes=100)
    for i in range(frames):
        image = np.full((96, 128, 3), 40, np.uint8)
        timecode.burn(image, 1000 + i)            # the frame's index, to recognise it
        recorder.write(image, int(i * 1e6 / fps))
    recorder.close()


def test_plays_paced_and_loops(tmp_path):
    make_video(tmp_path / "clip.mp4", frames=5)
    with NodeHarness("video_file", options={"path": str(tmp_path / "clip.mp4"), "fps": 50.0},
                     name="clip") as node:
        start = time.monotonic()
        packets = [node.step()["video"] for _ in range(12)]
        elapsed = time.monotonic() - start
    assert [timecode.read(p.value) - 1000 for p in packets] == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert 0.15 < elapsed < 1.5                              # 11 periods of 20 ms, loosely
    assert [p.ts_us for p in packets] == sorted(p.ts_us for p in packets)
    assert node.events.messages() == [f"[clip] playing {tmp_path / 'clip.mp4'}: 5 frames at 50 fps "
                                      f"(file: 10), looping"]


def test_a_missing_file_is_an_error_the_engine_retries(tmp_path):
    node = NodeHarness("video_file", options={"path": str(tmp_path / "later.mp4")}, name="clip")
    node.node.stopping.set()   # no backoff sleep
    node.step()
    assert node.events.messages("error") == [
        f"[clip] could not open (will retry): FileNotFoundError: no video file {tmp_path / 'later.mp4'}"]
    make_video(tmp_path / "later.mp4", frames=3)
    node.step()                # the retry opens it
    assert node.runner.opened
