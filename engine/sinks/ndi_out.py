"""The show's picture (and its sound) as an NDI source on the network, through
cyndilib (engine/ndi.py): TouchDesigner's NDI In TOP, OBS, Resolume or
another tensorstage takes it with no capture card.

    [nodes.to_resolume]
    type = "ndi_out"
    name = "tensorstage main"
    inputs.video = "style.video"
    inputs.audio = "synth.audio"      # optional

Each frame goes out when it arrives, so the stream keeps the frames' own
timing (NDI's clocking is off); its engine timestamp travels with it as
per-frame metadata, `<tensorstage ts_us="..."/>`. A four-channel frame is
sent with its alpha (BGRA), a three-channel one opaque (BGRX). A change of
frame size restarts the NDI sender (its frames are fixed in size). Without
cyndilib the node says so once, with the install hint, and the rest of the
show runs.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from engine import ndi
from engine.node import Node, Option, Port, StatusFigure, register
from engine.packet import AUDIO, VIDEO, AudioFormat, Packet


@register
class NdiOutSink(Node):
    type_name = "ndi_out"
    description = "Sends the picture, and the sound when connected, as an NDI source with a chosen name."
    inputs = (Port("video", VIDEO, optional=True),
              Port("audio", AUDIO, "sent with the picture", optional=True))
    options = {
        "name": Option(str, "tensorstage", "the NDI source's name (receivers see \"HOST (name)\")"),
        "groups": Option(str, "", "NDI groups to appear in, comma-separated (\"\": the public group)"),
        "ips": Option(str, "", "addresses NDI also asks for sources, comma-separated (see the ndi source)"),
        "fps": Option(float, 30.0, "the frame rate announced to receivers", min=1, max=240),
        "sample_rate": Option(int, 48000, "rate of the incoming audio", min=8000, max=192000),
        "channels": Option(int, 2, "audio channels sent (a mono input is copied to each)", min=1, max=16),
    }
    status_figures = (StatusFigure("ndi/frames_out", "i", "frames sent as NDI since start"),
                      StatusFigure("ndi/receivers", "i", "NDI receivers connected to this engine's outputs"))

    @classmethod
    def port_format(cls, options: dict, port: Port, is_input: bool) -> AudioFormat | None:
        # Any channel count comes in (mono is copied to each channel sent); any block.
        return AudioFormat(options["sample_rate"]) if port.type == AUDIO else None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unavailable = False
        self.sender: Any = None
        self.size: tuple[int, int, int] | None = None
        self.frames = 0
        self.receivers = 0
        self._seen: dict[str, int] = {}

    def open(self) -> None:
        try:
            self.cyndilib = ndi.load(self.opts["ips"])
        except ndi.NdiUnavailable as missing:
            self.unavailable = True
            self.report(f"{missing}; the show runs without NDI output")
            return
        self.report(f"NDI source {self.opts['name']!r} starts with the first frame")

    def _start(self, shape: tuple[int, int, int]) -> None:
        from cyndilib.wrapper.ndi_structs import FourCC

        self._stop_sender()
        height, width, channels = shape
        sender = self.cyndilib.Sender(self.opts["name"], ndi_groups=self.opts["groups"],
                                      clock_video=False, clock_audio=False)
        frame = self.cyndilib.VideoSendFrame()
        frame.set_resolution(width, height)
        frame.set_frame_rate(Fraction(self.opts["fps"]).limit_denominator(1001))
        frame.set_fourcc(FourCC.BGRA if channels == 4 else FourCC.BGRX)
        sender.set_video_frame(frame)
        if "audio" in self.wiring:
            sound = self.cyndilib.AudioSendFrame()
            sound.sample_rate = self.opts["sample_rate"]
            sound.num_channels = self.opts["channels"]
            sound.set_max_num_samples(16384)
            sender.set_audio_frame(sound)
        sender.open()
        self.sender, self.video_frame, self.size = sender, frame, shape
        self.report(f"sending NDI source {self.opts['name']!r}: {width}x{height}"
                    f"{' with alpha' if channels == 4 else ''}{' and sound' if 'audio' in self.wiring else ''}")

    def process(self, inputs: dict[str, Packet]) -> None:
        if self.unavailable:
            return
        # Both inputs trigger; each call sends whichever brought something new.
        for port, packet in inputs.items():
            if packet.ts_us <= self._seen.get(port, -1):
                continue
            self._seen[port] = packet.ts_us
            if port == "video":
                self._send_video(packet)
            elif self.sender is not None:
                self._send_audio(packet.value)

    def _send_video(self, packet: Packet) -> None:
        image = packet.value
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.shape != self.size:
            self._start(image.shape)
        if image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        self.video_frame.set_metadata(b'<tensorstage ts_us="%d"/>' % packet.ts_us)
        self.sender.write_video(np.ascontiguousarray(image).ravel())
        self.frames += 1
        if self.frames % 30 == 1:
            self.receivers = self.sender.get_num_connections(0)

    def _send_audio(self, block: np.ndarray) -> None:
        if self.sender.audio_frame is None:
            return
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[:, None]
        channels = self.opts["channels"]
        if block.shape[1] != channels:
            block = np.repeat(block[:, :1], channels, axis=1)
        self.sender.write_audio(np.ascontiguousarray(block.T))

    def status(self) -> dict[str, Any]:
        return {"ndi/frames_out": self.frames, "ndi/receivers": self.receivers}

    def _stop_sender(self) -> None:
        if self.sender is not None:
            self.sender.close()
            self.sender = None
            self.size = None

    def close(self) -> None:
        self._stop_sender()
