"""Ableton Link: the tempo, beat and phase of a Link session (Ableton Live,
Bitwig, TouchDesigner, Resolume, phones, other tensorstage engines on the
network) as control streams, scene recalls landing on the next beat or bar,
and a tempo the engine can propose. Through aalink (GPL-3.0-or-later, so the
optional extra `tensorstage[link]`).

    [nodes.link]
    type = "link"
    quantum = 4                  # beats to a bar
    params.quantize = "bar"      # scene recalls wait for the next bar ("beat", "off")

    # The beat phase sways the style between two paintings.
    [nodes.sway]
    type = "control_map"
    inputs.value = "link.beat_phase"
    target = "style.strength"

The streams go out over OSC like every control stream (/link/beat_phase,
/link/tempo, ...). Writing the `tempo` parameter (OSC /link/tempo, a MIDI
knob, a scene) proposes that tempo to the session; joining a session never
overrides its tempo. Without aalink the node says so once, with the install
hint, and the rest of the show runs with scenes recalled at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine.clock import Pacer, now_us
from engine.node import Node, Option, Port, StatusFigure, register
from engine.packet import CONTROL, Packet
from engine.params import CHOICE, FLOAT, ParamSpec

INSTALL_HINT = "pip install 'tensorstage[link]' (aalink)"
QUANTIZE = ("bar", "beat", "off")
STREAMS = ("tempo", "beat", "beat_phase", "bar_phase", "peers")


class LinkUnavailable(RuntimeError):
    pass


def open_session(bpm: float) -> tuple[Any, asyncio.AbstractEventLoop]:
    """A Link peer (enabled by the caller). aalink makes its object inside a
    running asyncio loop; the loop is kept but not run: tempo, beat and phase
    are read straight from Link's thread-safe session state."""
    try:
        import aalink
    except ImportError as error:
        raise LinkUnavailable(f"Ableton Link needs aalink ({error}); {INSTALL_HINT}") from None
    loop = asyncio.new_event_loop()

    async def make() -> Any:
        return aalink.Link(bpm)

    return loop.run_until_complete(make()), loop


def beats_to_boundary(beat: float, phase: float, quantum: float, quantize: str) -> float:
    """Beats from now to the next beat or bar; 0 when off (or exactly on one)."""
    if quantize == "bar":
        return (quantum - phase) % quantum
    if quantize == "beat":
        return (1.0 - beat % 1.0) % 1.0
    return 0.0


@register
class LinkSource(Node):
    type_name = "link"
    description = "Ableton Link: tempo, beat and phase as control streams; scene recalls on the beat or bar."
    outputs = (Port("tempo", CONTROL, "the session's tempo (bpm)"),
               Port("beat", CONTROL, "beats on the session's timeline"),
               Port("beat_phase", CONTROL, "where in the beat, 0..1"),
               Port("bar_phase", CONTROL, "where in the bar (quantum beats), 0..1"),
               Port("peers", CONTROL, "other Link peers in the session"))
    options = {
        "bpm": Option(float, 120.0, "the tempo a new session starts at (joining one keeps its tempo)",
                      min=20, max=999),
        "quantum": Option(float, 4.0, "beats to a bar (the phase Link peers agree on)", min=1, max=64),
        "rate_hz": Option(float, 60.0, "how often the streams are sent", min=1, max=500),
    }
    params = {
        "tempo": ParamSpec(FLOAT, 120.0, "a tempo to propose to the session (writing it sets the session's)",
                           min=20.0, max=999.0, unit="bpm", smoothing_s=0.0),
        "quantize": ParamSpec(CHOICE, "bar", "when scene recalls take effect", choices=QUANTIZE),
    }
    status_figures = (StatusFigure("link/peers", "i", "other peers in the Link session", combine="max"),
                      StatusFigure("link/tempo", "f", "the Link session's tempo (bpm)", combine="max"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unavailable = False
        self.link: Any = None
        self.figures = {"link/peers": 0, "link/tempo": 0.0}

    def open(self) -> None:
        try:
            self.link, self._loop = open_session(self.opts["bpm"])
        except LinkUnavailable as missing:
            if not self.unavailable:
                self.unavailable = True
                self.report(f"{missing}; the show runs without Link (scenes are recalled at once)")
            return
        self.link.quantum = self.opts["quantum"]
        self.link.enabled = True
        self.proposed = self.param["tempo"]        # only a later write proposes a tempo
        self.pacer = Pacer(1e6 / self.opts["rate_hz"])
        if self.context.params is not None:
            self.context.params.recall_at = self.recall_at
        self.report(f"Link on: {self.link.tempo:.1f} bpm, {self.opts['quantum']:g} beats to a bar")

    def recall_at(self) -> int | None:
        """Engine time of the next beat or bar (the quantize parameter), for scene recalls."""
        link = self.link
        if link is None:
            return None
        beats = beats_to_boundary(link.beat, link.phase, self.opts["quantum"], self.param["quantize"])
        return now_us() + int(beats * 60e6 / link.tempo) if beats > 0 else None

    def process(self, inputs: dict[str, Packet]) -> dict[str, Packet] | None:
        if self.link is None:
            self.wait(0.5)
            return None
        if not self.pacer.wait_turn(self.wait):
            return None
        link, ts = self.link, now_us()
        wanted = self.param["tempo"]
        if wanted != self.proposed:
            self.proposed = wanted
            link.tempo = wanted
            self.report(f"proposed {wanted:.1f} bpm to the Link session")
        tempo, beat, phase, peers = link.tempo, link.beat, link.phase, link.num_peers
        self.figures = {"link/peers": peers, "link/tempo": tempo}
        values = {"tempo": tempo, "beat": beat, "beat_phase": beat % 1.0,
                  "bar_phase": phase / self.opts["quantum"], "peers": float(peers)}
        return {name: Packet(value, ts) for name, value in values.items()}

    def status(self) -> dict[str, Any]:
        return dict(self.figures)

    def close(self) -> None:
        params = self.context.params
        if params is not None and getattr(params, "recall_at", None) == self.recall_at:
            params.recall_at = None
        if self.link is not None:
            self.link.enabled = False
            self.link = None
            self._loop.close()
