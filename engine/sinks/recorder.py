"""Recording video to an mp4 file, with caps so an installation cannot fill a disk.

Frames are placed on the file's timeline by their timestamps: a stream slower
than the file's rate repeats frames, a faster one skips them, so a minute on
stage is a minute in the file.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import cv2
import numpy as np

from engine.node import EngineContext, Node, Option, Port, register
from engine.ops.disk import DiskLimits, prune, refusal
from engine.ops.health import disk_free_mb
from engine.packet import AUDIO, VIDEO, Packet


def output_path(template: str, context: EngineContext) -> Path:
    """Fill `{output_dir}`, `{patch}` and `{time}` in a path template (those
    three names only: no format-string attribute look-ups). The file is always
    inside the output folder (`--output-dir`): a relative path starts there,
    and a path that leads out of it (absolute, `..`, a link) is refused, so no
    patch edit can make the show write anywhere else."""
    root = Path(context.output_dir).expanduser().resolve()
    names = {"output_dir": str(root), "patch": context.patch_name, "time": time.strftime("%Y%m%d-%H%M%S")}
    unknown = [m for m in re.findall(r"\{([^{}]*)\}", template) if m not in names]
    if unknown:
        raise ValueError(f"path {template!r}: unknown placeholder {{{unknown[0]}}}; "
                         "use {output_dir}, {patch} or {time}")
    text = re.sub(r"\{(output_dir|patch|time)\}", lambda m: names[m.group(1)], template)
    path = (root / Path(text).expanduser()).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"path {template!r} leads out of the output folder {root}; recordings are written "
                         "inside it (choose it with --output-dir)")
    return path


class Mp4Recorder:
    """Writes frames to an mp4 on a fixed-rate timeline, stopping at its caps."""

    def __init__(self, path: Path, fps: float, max_seconds: float, max_megabytes: float,
                 limits: DiskLimits | None = None) -> None:
        self.path, self.fps = path, fps
        self.limits = limits or DiskLimits()
        self.max_frames = int(max_seconds * fps)
        self.max_bytes = int(max_megabytes * 1e6)
        self.frames_written = 0
        self.stopped_reason = ""
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._t0_us: int | None = None
        self._last: np.ndarray | None = None

    def write(self, frame: np.ndarray, ts_us: int) -> None:
        if self.stopped_reason:
            return
        if self._writer is None:
            self._start(frame, ts_us)
        if (frame.shape[1], frame.shape[0]) != self._size:
            frame = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
        due = int((ts_us - self._t0_us) * self.fps / 1e6) + 1  # frames the timeline should hold
        while self.frames_written < due - 1 and self._last is not None and not self.stopped_reason:
            self._put(self._last)  # the stream was slower than the file: hold the last frame
        if self.frames_written < due and not self.stopped_reason:
            self._put(frame)
            self._last = frame

    def _start(self, frame: np.ndarray, ts_us: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._size = (frame.shape[1], frame.shape[0])
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                       self._size)
        if not self._writer.isOpened():
            raise OSError(f"cannot write video to {self.path}")
        self._t0_us = ts_us

    def _put(self, frame: np.ndarray) -> None:
        if self.frames_written >= self.max_frames:
            self.stopped_reason = f"reached the cap of {self.max_frames / self.fps:g} s"
        elif self.frames_written % 30 == 0 and self.path.exists() and \
                self.path.stat().st_size >= self.max_bytes:
            self.stopped_reason = f"reached the cap of {self.max_bytes / 1e6:g} MB"
        elif self.frames_written % 300 == 0 and disk_free_mb(self.path.parent) < self.limits.min_free_mb / 2:
            # Half the margin a recording starts with, so one that started does not stop at once.
            self.stopped_reason = f"the disk is nearly full ({disk_free_mb(self.path.parent):.0f} MB free)"
        if self.stopped_reason:
            self.close()
            return
        self._writer.write(frame)
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


RECORDER_OPTIONS = {
    "path": Option(str, "{output_dir}/{patch}-{time}.mp4",
                   "file to write; {output_dir}, {patch} and {time} are filled in"),
    "fps": Option(float, 30.0, "frame rate of the file", min=1, max=240),
    "max_seconds": Option(float, 3600.0, "stop recording after this long", min=1),
    "max_megabytes": Option(float, 2000.0, "stop recording at this file size", min=1),
}


def open_recorder(opts: dict, context: EngineContext) -> Mp4Recorder:
    """A new recording, after the old ones were pruned to the [show] limits;
    OSError (the node says why) when the disk is nearly full."""
    path = output_path(opts["path"], context)
    limits = DiskLimits.of(context.show)
    root = Path(context.output_dir).expanduser().resolve()
    removed = prune(root, limits)
    if removed:
        context.report("recorder", f"removed {len(removed)} old recording(s) to stay within "
                       f"{limits.recordings_max_mb:g} MB and {limits.recordings_keep_days:g} days: "
                       + ", ".join(p.name for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    why = refusal(root, limits)
    if why:
        raise OSError(why)
    return Mp4Recorder(path, opts["fps"], opts["max_seconds"], opts["max_megabytes"], limits)


class WavRecorder:
    """The sound beside the video: 16-bit wav at the stream's rate, capped like the mp4."""

    def __init__(self, path: Path, max_seconds: float) -> None:
        self.path, self.max_seconds = path, max_seconds
        self.frames_written = 0
        self.stopped_reason = ""
        self._file = None
        self._rate = 0

    def write(self, block: np.ndarray, sample_rate: int) -> None:
        import soundfile

        if self.stopped_reason:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rate = sample_rate
            self._file = soundfile.SoundFile(str(self.path), "w", samplerate=sample_rate,
                                             channels=block.shape[1], subtype="PCM_16")
        room = int(self.max_seconds * self._rate) - self.frames_written
        if room <= 0:
            self.stopped_reason = f"reached the cap of {self.max_seconds:g} s"
            self.close()
            return
        self._file.write(np.clip(block[:room], -1.0, 1.0))
        self.frames_written += min(room, len(block))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@register
class RecorderSink(Node):
    type_name = "recorder"
    presents = "video"
    description = "Records video to an mp4 file and, when connected, sound to a wav beside it; capped."
    inputs = (Port("video", VIDEO, optional=True),
              Port("audio", AUDIO, "recorded to a .wav next to the .mp4", optional=True))
    options = {**RECORDER_OPTIONS,
               "sample_rate": Option(int, 48000, "rate of the incoming audio", min=8000, max=192000)}

    def open(self) -> None:
        self.recorder = open_recorder(self.opts, self.context)
        self.sound = WavRecorder(self.recorder.path.with_suffix(".wav"), self.opts["max_seconds"])
        self._seen: dict[str, int] = {}
        self._told: set[str] = set()
        self.report(f"recording to {self.recorder.path}")

    def process(self, inputs: dict[str, Packet]) -> None:
        # Both inputs trigger; each call handles whichever brought something new.
        for port, packet in inputs.items():
            if packet.ts_us <= self._seen.get(port, -1):
                continue
            self._seen[port] = packet.ts_us
            if port == "video":
                self.recorder.write(packet.value, packet.ts_us)
            else:
                self.sound.write(packet.value, self.opts["sample_rate"])
        for part in (self.recorder, self.sound):
            if part.stopped_reason and part.path.suffix not in self._told:
                self._told.add(part.path.suffix)
                self.report(f"recording stopped: {part.stopped_reason} ({part.path})")

    def close(self) -> None:
        self.recorder.close()
        self.sound.close()
