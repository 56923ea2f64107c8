"""A generated test pattern: colour bars, motion, and its own timestamp burned in.

It is the source of last resort (no camera) and the ruler for latency: the
timestamp in the top band can be read back from a recording or a screenshot.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from engine import timecode
from engine.clock import Pacer, now_us
from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet

_BARS_BGR = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0),
             (192, 0, 192), (0, 0, 192), (192, 0, 0)]


class PatternGenerator:
    """Frames at a steady rate: waits for the next frame time, then draws it."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        self.width, self.height = width, height
        self.pacer = Pacer(1e6 / fps)
        self.background = np.zeros((height, width, 3), dtype=np.uint8)
        edges = np.linspace(0, width, len(_BARS_BGR) + 1).astype(int)
        for colour, left, right in zip(_BARS_BGR, edges[:-1], edges[1:]):
            self.background[:, left:right] = colour
        self.background[height * 3 // 4:] = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
        self.frames = 0

    def next(self, wait) -> Packet | None:
        """The next frame, once its time has come; None if `wait` says we are stopping."""
        if not self.pacer.wait_turn(wait):
            return None
        ts = now_us()
        return Packet(self.draw(ts), ts)

    def draw(self, ts_us: int) -> np.ndarray:
        frame = self.background.copy()
        h, w = self.height, self.width
        x = int((self.frames * 4) % w)
        frame[h // 10: h * 3 // 4, x: x + max(4, w // 40)] = 255
        cv2.circle(frame, (w // 2, h // 2), h // 5, (32, 32, 32), -1)
        angle = self.frames * 0.1
        tip = (int(w / 2 + np.cos(angle) * h / 5), int(h / 2 + np.sin(angle) * h / 5))
        cv2.line(frame, (w // 2, h // 2), tip, (255, 255, 255), max(2, h // 120))
        text = f"tensorstage test pattern  {time.strftime('%H:%M:%S')}  frame {self.frames}"
        scale = max(0.4, w / 1280)
        cv2.putText(frame, text, (w // 40, h * 3 // 4 - h // 30), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), max(1, int(scale * 2)), cv2.LINE_AA)
        timecode.burn(frame, ts_us)
        self.frames += 1
        return frame


@register
class TestPatternSource(Node):
    type_name = "test_pattern"
    description = "Generated colour bars with moving parts and a burned-in timestamp."
    outputs = (Port("video", VIDEO, "the pattern, timestamp in the top band"),)
    options = {
        "width": Option(int, 640, "frame width in pixels", min=64, max=7680),
        "height": Option(int, 480, "frame height in pixels", min=48, max=4320),
        "fps": Option(float, 30.0, "frames per second", min=0.1, max=240),
    }

    def open(self) -> None:
        self.generator = PatternGenerator(self.opts["width"], self.opts["height"], self.opts["fps"])

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        packet = self.generator.next(self.wait)
        return {"video": packet} if packet is not None else None
