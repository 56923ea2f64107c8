"""A camera (or any stream OpenCV can open), with a generated fallback.

Frames are grabbed continuously on the source's own thread and stamped the
moment `grab()` returns, before decoding, so the driver's buffering does not
hide in the latency figures. If no local camera exists when the patch starts,
the source shows a generated test pattern instead (and says so), and keeps
looking for the camera. A camera or stream that fails mid-run raises, and the
engine closes and reopens it with backoff while the rest of the graph keeps
running (the window shows the last frame, then NO SIGNAL). A stream URL has no
pattern fallback: a stream that is not there yet is retried the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from engine.clock import now_us
from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet
from engine.sources.test_pattern import PatternGenerator


class CameraLost(RuntimeError):
    pass


def camera_devices() -> list[tuple[str, str]]:
    """(device path, name) of the V4L2 cameras this machine has."""
    found = []
    for sys_dir in sorted(Path("/sys/class/video4linux").glob("video*")):
        try:
            name = (sys_dir / "name").read_text().strip()
        except OSError:
            name = "?"
        found.append((f"/dev/{sys_dir.name}", name))
    return found


@register
class CameraSource(Node):
    type_name = "camera"
    description = "A webcam or capture card (index or path), or a stream URL OpenCV can read."
    outputs = (Port("video", VIDEO, "camera frames, stamped at grab"),)
    options = {
        "device": Option((int, str), 0, "camera index (0 = /dev/video0), its name as `tensorstage devices` "
                                        "lists it, a device path, or a stream URL"),
        "width": Option(int, 640, "requested frame width", min=64, max=7680),
        "height": Option(int, 480, "requested frame height", min=48, max=4320),
        "fps": Option(float, 30.0, "requested frames per second", min=1, max=240),
        "fallback": Option(str, "test_pattern", "what to show when no camera exists at start",
                           choices=("test_pattern", "none")),
        "retry_s": Option(float, 5.0, "while on the fallback, how often to look for the camera",
                          min=0.5, max=600),
        "timeout_s": Option(float, 3.0, "a stream that sends nothing this long is lost", min=0.1, max=60),
    }

    def open(self) -> None:
        self._capture = None
        self._pattern = None
        problem = self._open_camera()
        if problem is None:
            return
        if self.opts["fallback"] != "test_pattern" or self._is_stream() or getattr(self, "_had_camera", False):
            raise CameraLost(problem)
        self._pattern = PatternGenerator(self.opts["width"], self.opts["height"], self.opts["fps"])
        self._next_look_us = now_us() + int(self.opts["retry_s"] * 1e6)
        self.report(f"{problem}: showing a generated test pattern instead; "
                    f"looking for the camera every {self.opts['retry_s']:g} s")

    def _is_stream(self) -> bool:
        return isinstance(self.opts["device"], str) and "://" in self.opts["device"]

    def _open_camera(self) -> str | None:
        device = self.opts["device"]
        if isinstance(device, str) and "/" not in device:
            by_name = [path for path, name in camera_devices() if name == device]
            if not by_name:
                return f"no camera named {device!r}"
            device = by_name[0]
        if isinstance(device, int) and not os.path.exists(f"/dev/video{device}"):
            return f"no camera {device} (/dev/video{device} does not exist)"
        if self._is_stream():
            timeout_ms = int(self.opts["timeout_s"] * 1000)
            capture = cv2.VideoCapture(device, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms,
                                                                cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms])
        else:
            capture = cv2.VideoCapture(device)
        if not capture.isOpened():
            capture.release()
            return f"camera {device!r} could not be opened"
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.opts["width"])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.opts["height"])
        capture.set(cv2.CAP_PROP_FPS, self.opts["fps"])
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture
        self._had_camera = True
        got = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
               capture.get(cv2.CAP_PROP_FPS))
        self.report(f"camera {device!r} open: {got[0]}x{got[1]} at {got[2]:g} fps "
                    f"(asked {self.opts['width']}x{self.opts['height']} at {self.opts['fps']:g})")
        return None

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self._pattern is not None:
            if now_us() >= self._next_look_us:
                self._next_look_us = now_us() + int(self.opts["retry_s"] * 1e6)
                if self._open_camera() is None:
                    self._pattern = None
                    return None
            packet = self._pattern.next(self.wait)
            return {"video": packet} if packet is not None else None
        if not self._capture.grab():
            raise CameraLost(f"camera {self.opts['device']!r} stopped delivering frames")
        ts = now_us()
        ok, frame = self._capture.retrieve()
        if not ok or frame is None:
            raise CameraLost(f"camera {self.opts['device']!r} returned an empty frame")
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return {"video": Packet(frame, ts)}

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
