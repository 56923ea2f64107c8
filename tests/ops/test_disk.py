import os
import time

import numpy as np
import pytest

from engine.node import EngineContext
from engine.ops.disk import DiskLimits, prune, recordings, refusal
from engine.sinks.recorder import Mp4Recorder, RECORDER_OPTIONS, open_recorder


def make(folder, name, megabytes, age_days):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * int(megabytes * 1e6))
    stamp = time.time() - age_days * 86400
    os.utime(path, (stamp, stamp))
    return path


def test_recordings_are_kept_within_the_age_and_the_total_cap_oldest_first(tmp_path):
    make(tmp_path, "a-ancient.mp4", 1, 40)
    make(tmp_path, "b-old.mp4", 2, 5)
    make(tmp_path, "night/c-older.wav", 2, 6)
    make(tmp_path, "d-new.mp4", 2, 1)
    make(tmp_path, "notes.txt", 5, 50)                     # not a recording: never touched
    removed = prune(tmp_path, DiskLimits(recordings_max_mb=4.5, recordings_keep_days=30))
    assert [p.name for p in removed] == ["a-ancient.mp4", "c-older.wav"]
    assert [p.name for p in recordings(tmp_path)] == ["b-old.mp4", "d-new.mp4"]
    assert (tmp_path / "notes.txt").exists()
    assert prune(tmp_path, DiskLimits(recordings_max_mb=100, recordings_keep_days=0)) == []


def test_a_recording_does_not_start_on_a_nearly_full_disk_and_says_so(tmp_path):
    context = EngineContext(patch_name="show", output_dir=tmp_path, show={"min_free_mb": 1e12})
    with pytest.raises(OSError) as caught:
        open_recorder({key: option.default for key, option in RECORDER_OPTIONS.items()}, context)
    assert "not recording" in str(caught.value) and "min_free_mb = 1e+12" in str(caught.value)
    assert refusal(tmp_path, DiskLimits(min_free_mb=1)) is None


def test_opening_a_recording_prunes_the_old_ones_and_reports_it(tmp_path):
    make(tmp_path, "show-old.mp4", 3, 2)
    said = []
    context = EngineContext(patch_name="show", output_dir=tmp_path, show={"recordings_max_mb": 1, "min_free_mb": 1},
                            report=lambda node, text: said.append(text))
    recorder = open_recorder({key: option.default for key, option in RECORDER_OPTIONS.items()}, context)
    recorder.write(np.zeros((48, 64, 3), np.uint8), 0)
    recorder.close()
    assert not (tmp_path / "show-old.mp4").exists() and recorder.path.exists()
    assert said and "removed 1 old recording(s)" in said[0]


def test_a_running_recording_stops_when_the_disk_fills(tmp_path):
    recorder = Mp4Recorder(tmp_path / "a.mp4", 30, 3600, 2000, DiskLimits(min_free_mb=1))
    for i in range(310):
        if i == 100:      # the disk fills up (another program): checked every 300 frames
            recorder.limits = DiskLimits(min_free_mb=1e12)
        recorder.write(np.zeros((48, 64, 3), np.uint8), i * 33_333)
    assert recorder.stopped_reason.startswith("the disk is nearly full") and recorder.frames_written == 300
