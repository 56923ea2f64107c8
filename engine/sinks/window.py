"""The output window for a screen or projector, or a file when there is no screen.

The window belongs to the main thread (GUI toolkits require it), so this node
asks for it; everything slow happens elsewhere. Keys: q or Esc quits, f toggles
fullscreen. With no display (or `--headless`) the node writes what it would have
shown to an mp4 file instead, and says where.
"""

from __future__ import annotations

import cv2

from engine.display import display_problem
from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet
from engine.sinks.video_file import RECORDER_OPTIONS, open_recorder


@register
class WindowSink(Node):
    type_name = "window"
    description = "Shows a video stream in a window (fullscreen on a projector), or records it headless."
    inputs = (Port("video", VIDEO),)
    options = {
        "title": Option(str, "tensorstage", "window title"),
        "fullscreen": Option(bool, False, "start fullscreen"),
        "fallback": Option(str, "file", "with no display: record to a file, or show nothing",
                           choices=("file", "none")),
        **RECORDER_OPTIONS,
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.headless_reason = "headless run (--headless)" if self.context.headless else display_problem()
        self.recorder = None

    def wants_main_thread(self) -> bool:
        return self.headless_reason is None

    def open(self) -> None:
        self._shown_size = None
        if self.headless_reason is None:
            title = self.opts["title"]
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
            self._set_fullscreen(self.opts["fullscreen"])
            self.report(f"showing the output in window {title!r}")
        elif self.opts["fallback"] == "file":
            self.recorder = open_recorder(self.opts, self.context)
            self.report(f"{self.headless_reason}: writing the output to {self.recorder.path}")
        else:
            self.report(f"{self.headless_reason}: the output is not shown anywhere")

    def process(self, inputs: dict[str, Packet]) -> None:
        packet = inputs["video"]
        if self.headless_reason is None:
            frame = packet.value
            if self._shown_size != frame.shape[:2]:
                self._shown_size = frame.shape[:2]
                if not self._fullscreen:
                    cv2.resizeWindow(self.opts["title"], frame.shape[1], frame.shape[0])
            cv2.imshow(self.opts["title"], frame)
            self._keys()
        elif self.recorder is not None:
            self.recorder.write(packet.value, packet.ts_us)

    def idle(self) -> None:
        if self.headless_reason is None:
            self._keys()

    def _keys(self) -> None:
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            self.context.request_stop(f"{key == 27 and 'Esc' or 'q'} pressed in the window")
        elif key == ord("f"):
            self._set_fullscreen(not self._fullscreen)
        elif cv2.getWindowProperty(self.opts["title"], cv2.WND_PROP_VISIBLE) < 1:
            self.context.request_stop("the window was closed")

    def _set_fullscreen(self, on: bool) -> None:
        self._fullscreen = on
        cv2.setWindowProperty(self.opts["title"], cv2.WND_PROP_FULLSCREEN,
                              cv2.WINDOW_FULLSCREEN if on else cv2.WINDOW_NORMAL)

    def close(self) -> None:
        if self.headless_reason is None:
            cv2.destroyWindow(self.opts["title"])
            cv2.waitKey(1)
        if self.recorder is not None:
            self.recorder.close()
            if self.recorder.frames_written:
                self.report(f"wrote {self.recorder.frames_written} frames to {self.recorder.path}")
