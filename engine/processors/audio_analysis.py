"""What the sound does, as control streams: loudness, onsets, pitch, brightness,
tempo and the beat's phase.

Blocks are gathered into 2048-sample frames analysed every `hop` samples
(1024: 47 times a second at 48 kHz). Each output carries the time of the end of
its frame. Pitch is YIN over 60..1000 Hz (43 ms of sound at 48 kHz). Onsets are
peaks of spectral flux above an adaptive threshold. Tempo comes from the
autocorrelation of the onset strength over the last 6 s, re-estimated twice a
second; the beat phase rises from 0 to 1 between beats.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from engine.audio import features
from engine.node import Node, Option, Port, register
from engine.packet import AUDIO, CONTROL, Packet

OUTPUTS = ("loudness_db", "onset", "pitch_hz", "pitch_confidence", "centroid_hz", "tempo_bpm", "beat_phase")


@register
class AudioAnalysisNode(Node):
    type_name = "audio_analysis"
    description = "Loudness, onsets, pitch, spectral centroid, tempo and beat phase of an audio stream."
    inputs = (Port("audio", AUDIO),)
    outputs = (
        Port("loudness_db", CONTROL, "RMS level, dBFS (-100 silence .. 0)"),
        Port("onset", CONTROL, "1 on a frame where a note or hit starts, else 0"),
        Port("pitch_hz", CONTROL, "fundamental frequency (0 when unpitched)"),
        Port("pitch_confidence", CONTROL, "0..1, how periodic the sound is"),
        Port("centroid_hz", CONTROL, "spectral centroid: brightness"),
        Port("tempo_bpm", CONTROL, "beats per minute, 60..180 (0 until known)"),
        Port("beat_phase", CONTROL, "0 on the beat, rising to 1 just before the next"),
    )
    options = {
        "sample_rate": Option(int, 48000, "of the incoming blocks", min=8000, max=192000),
        "frame": Option(int, 2048, "analysis frame in samples", min=256, max=16384),
        "hop": Option(int, 1024, "samples between analyses", min=64, max=16384),
        "fmin": Option(float, 60.0, "lowest pitch looked for, Hz", min=20, max=2000),
        "fmax": Option(float, 1000.0, "highest pitch looked for, Hz", min=50, max=5000),
    }

    @classmethod
    def check_options(cls, options: dict) -> list[tuple[str, str]]:
        if options["sample_rate"] / options["fmin"] >= options["frame"]:
            return [("fmin", f"a {options['frame']}-sample frame at {options['sample_rate']} Hz cannot hold "
                             f"two periods of {options['fmin']:g} Hz; raise fmin or frame")]
        return []

    def open(self) -> None:
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_end_us = 0
        self._previous_spectrum: np.ndarray | None = None
        self._frame_rate = self.opts["sample_rate"] / self.opts["hop"]
        self._envelope: deque[float] = deque(maxlen=int(6 * self._frame_rate))
        self._flux_recent: deque[float] = deque(maxlen=16)
        self._frames_since_onset = 1000
        self._frames = 0
        self._tempo, self._period = 0.0, 0
        self._beat_frame = 0

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        packet = inputs["audio"]
        mono = packet.value.mean(axis=1) if packet.value.ndim == 2 else packet.value
        rate, frame, hop = self.opts["sample_rate"], self.opts["frame"], self.opts["hop"]
        self._buffer = np.concatenate([self._buffer, mono.astype(np.float32)])
        self._buffer_end_us = packet.ts_us + int(len(mono) * 1e6 / rate)
        outputs = None
        while len(self._buffer) >= frame:
            values = self._analyse(self._buffer[:frame])
            # The frame ends `len(buffer) - frame` samples before the newest sample.
            end_us = self._buffer_end_us - int((len(self._buffer) - frame) * 1e6 / rate)
            outputs = {name: Packet(value, max(packet.ts_us, end_us)) for name, value in values.items()}
            self._buffer = self._buffer[hop:]
        return outputs

    def _analyse(self, frame: np.ndarray) -> dict[str, float]:
        rate = self.opts["sample_rate"]
        spectrum = features.magnitude(frame)
        strength = features.flux(spectrum, self._previous_spectrum)
        self._previous_spectrum = spectrum
        threshold = (np.median(self._flux_recent) * 1.5 + 1.0) if self._flux_recent else np.inf
        onset = strength > threshold and self._frames_since_onset * self.opts["hop"] / rate > 0.05
        self._flux_recent.append(strength)
        self._frames_since_onset = 0 if onset else self._frames_since_onset + 1
        self._envelope.append(strength)
        self._frames += 1
        if self._frames % max(1, int(self._frame_rate / 2)) == 0 and len(self._envelope) > self._frame_rate * 2:
            self._tempo, self._period = features.tempo(np.array(self._envelope), self._frame_rate)
        if onset:
            self._beat_frame = self._frames
        phase = ((self._frames - self._beat_frame) % self._period) / self._period if self._period else 0.0
        pitch, confidence = features.yin(frame, rate, self.opts["fmin"], self.opts["fmax"])
        return {"loudness_db": features.loudness_db(frame), "onset": 1.0 if onset else 0.0,
                "pitch_hz": pitch, "pitch_confidence": confidence,
                "centroid_hz": features.centroid_hz(spectrum, rate), "tempo_bpm": self._tempo,
                "beat_phase": phase}
