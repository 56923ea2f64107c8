"""An NDI source on the network (TouchDesigner's NDI Out TOP, OBS, Resolume,
another tensorstage), by name, through cyndilib (engine/ndi.py).

    [nodes.feed]
    type = "ndi"
    source = "stage-left"         # part of the source's name "HOST (stream)"; "" takes the first

Frames are taken through NDI's frame synchroniser (the receiver cyndilib
builds always has one): it holds the newest frame and corrects the sender's
clock against ours, so the source polls it every couple of milliseconds and
passes on each new frame once, stamped when it was taken. A source that is
not there, or sends nothing for `timeout_s`, raises, and the engine reopens
it with backoff like a camera (the window shows the last frame, then NO
SIGNAL). Without cyndilib the node says so once, with the install hint, and
the rest of the show runs.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from engine import ndi
from engine.clock import now_us
from engine.node import Node, Option, Port, StatusFigure, register
from engine.packet import VIDEO, Packet

POLL_S = 0.002            # how often the frame synchroniser is asked for a new frame


class NdiSourceGone(RuntimeError):
    """The source is not there or stopped sending: the runner reopens with backoff."""


def to_bgr(data: np.ndarray, width: int, height: int, stride: int) -> np.ndarray:
    """A received BGRA/BGRX buffer (rows `stride` bytes apart) as a BGR frame of its own."""
    rows = data[: stride * height].reshape(height, stride // 4, 4)
    return cv2.cvtColor(rows[:, :width], cv2.COLOR_BGRA2BGR)


@register
class NdiSource(Node):
    type_name = "ndi"
    description = "An NDI source on the network, by name (TouchDesigner, OBS, Resolume, another engine)."
    outputs = (Port("video", VIDEO, "the source's frames, stamped when taken"),)
    options = {
        "source": Option(str, "", "part of the NDI source's name, \"HOST (stream)\", any case; \"\" takes the first"),
        "ips": Option(str, "", "addresses NDI also asks for sources, comma-separated (another subnet; "
                               "127.0.0.1 where no mDNS daemon runs)"),
        "bandwidth": Option(str, "highest", "full quality, or NDI's low-bandwidth proxy stream",
                            choices=("highest", "lowest")),
        "find_s": Option(float, 3.0, "how long to look for the source before trying again", min=0.1, max=60),
        "timeout_s": Option(float, 3.0, "a source that sends nothing this long is lost", min=0.1, max=60),
    }
    status_figures = (StatusFigure("ndi/frames_in", "i", "frames received from NDI sources since start"),)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unavailable = False
        self.frames = 0
        self.receiver: Any = None
        self.finder: Any = None

    def open(self) -> None:
        try:
            cyndilib = ndi.load(self.opts["ips"])
        except ndi.NdiUnavailable as missing:
            if not self.unavailable:
                self.unavailable = True
                self.report(f"{missing}; the show runs without this NDI input")
            return
        if ndi.late_ips():
            self.report(f"NDI discovery addresses {ndi.late_ips()!r} apply after a restart "
                        "(the NDI runtime had already loaded)")
        from cyndilib.wrapper.ndi_recv import RecvBandwidth, RecvColorFormat

        self.finder = cyndilib.Finder()
        self.finder.open()
        source = self._find(self.opts["source"], self.opts["find_s"])
        bandwidth = RecvBandwidth.highest if self.opts["bandwidth"] == "highest" else RecvBandwidth.lowest
        self.receiver = cyndilib.Receiver(color_format=RecvColorFormat.BGRX_BGRA, bandwidth=bandwidth,
                                          recv_name=f"tensorstage {self.name}")
        self.frame = cyndilib.VideoFrameSync()
        self.receiver.frame_sync.set_video_frame(self.frame)
        self.receiver.set_source(source)
        self.source_name = source.name
        self.last_stamp: float | None = None
        self.last_new = time.monotonic()
        self.report(f"receiving NDI source {source.name!r}")

    def _find(self, wanted: str, within_s: float) -> Any:
        deadline = time.monotonic() + within_s
        while True:
            for source in self.finder:
                if ndi.matches(source.name, wanted):
                    return source
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping.is_set():
                names = ", ".join(self.finder.get_source_names()) or "none"
                what = f"named like {wanted!r}" if wanted else "at all"
                raise NdiSourceGone(f"no NDI source {what}; sources now: {names}")
            self.finder.wait_for_sources(min(left, 0.25))

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.receiver is None:           # no cyndilib: nothing to give, the stop is heard
            self.wait(0.5)
            return None
        while not self.wait(POLL_S):
            self.receiver.frame_sync.capture_video()
            stamp = self.frame.get_timestamp_posix()
            if stamp != self.last_stamp and self.frame.get_data_size() > 0:
                ts = now_us()
                self.last_stamp, self.last_new = stamp, time.monotonic()
                width, height = self.frame.get_resolution()
                image = to_bgr(self.frame.get_array(), width, height, self.frame.get_line_stride())
                self.frames += 1
                return {"video": Packet(image, ts)}
            if time.monotonic() - self.last_new > self.opts["timeout_s"]:
                raise NdiSourceGone(f"NDI source {self.source_name!r} sent nothing for "
                                    f"{self.opts['timeout_s']:g} s")
        return None

    def status(self) -> dict[str, Any]:
        return {"ndi/frames_in": self.frames}

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.disconnect()
            self.receiver = None
        if self.finder is not None:
            self.finder.close()
            self.finder = None
