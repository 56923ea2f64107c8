"""A video file played as a live source: paced, looping, stamped when shown.

Frames leave at the file's own rate (or `fps`), on the engine clock, as a
camera's would; at the end the file starts again when `loop` is on. A file that
is missing or unreadable is an error the engine retries with backoff, so a
file copied in while the show runs is picked up.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from engine.clock import Pacer, now_us
from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet


@register
class VideoFileSource(Node):
    type_name = "video_file"
    description = "Plays a video file (mp4, mov, avi, ...) in real time, looping."
    outputs = (Port("video", VIDEO, "frames at the file's rate, stamped when they leave"),)
    options = {
        "path": Option(str, "", "the video file"),
        "loop": Option(bool, True, "start again at the end"),
        "fps": Option(float, 0.0, "playback rate; 0 = the file's own", min=0, max=240),
    }

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        return [] if options["path"] else [("path", "a video_file node needs a path")]

    def open(self) -> None:
        path = Path(self.opts["path"]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no video file {path}")
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            self._capture.release()
            raise OSError(f"{path} is not a video OpenCV can read")
        file_fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        fps = self.opts["fps"] or file_fps
        self._pacer = Pacer(1e6 / fps)
        frames = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.report(f"playing {path}: {frames} frames at {fps:g} fps"
                    + (" (the file's rate)" if not self.opts["fps"] else f" (file: {file_fps:g})")
                    + (", looping" if self.opts["loop"] else ""))

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        ok, frame = self._capture.read()
        if not ok:
            if not self.opts["loop"]:
                self.wait(0.1)  # played once; the window holds the last frame
                return None
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
            if not ok:
                raise OSError(f"{self.opts['path']} cannot be read from its start again")
        if not self._pacer.wait_turn(self.wait):
            return None
        return {"video": Packet(frame, now_us())}

    def close(self) -> None:
        self._capture.release()
