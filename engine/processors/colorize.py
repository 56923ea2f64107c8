"""Live colorization: grey or faded video in, colour out, steered by colour
hints over OSC (`/colorize/hint X Y R G B [RADIUS]`, `/colorize/palette R G B
...`, `/colorize/clear`).

The network (models/colorize/) sees the frame's lightness at its processing
size plus hint planes and gives the a and b colour channels at a quarter of
that size; as chroma they are scaled up and put beside the frame's own
full-size luma, so detail stays as sharp as the input. A colour input works too:
only its lightness is used, so a faded film or a desaturated camera can be
recoloured. Hints go into the network, which carries their colour near where
they fall, and then, at its output size, their colour is spread along the
lightness (`spread_hints`) over its region and beyond, fainter across edges;
`hint_spread` mixes the two (1 spread, 0 the network's alone). A palette
redraws the network's colour from its colours before the hints apply
(`map_to_palette`). Hints fade over `hint_decay_s` (0: they stay until
cleared). Hints and palette are the node's scene state.
Stabilisation (engine/runtime/stabilizer.py) carries the colour along the
camera's motion, and takes the new colour at once after a cut.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from engine.node import CommandArg, OscCommand, StatusFigure, register
from engine.params import FLOAT, ParamSpec
from engine.runtime.color import AB_SCALE, hint_planes, map_to_palette, palette_lab, rgb_to_ab, spread_hints
from engine.runtime.contract import Role, TensorContract
from engine.runtime.model_node import MODEL_OPTIONS, ModelNode, resolution_param
from engine.runtime.models import load_runner
from engine.runtime.stabilizer import Stabilizer

CONTRACT = TensorContract(inputs=(Role("lightness", 4, (1,)), Role("hints", 4, (3,))),
                          outputs=(Role("ab", 4, (2,)),))
RESOLUTIONS = ("192", "256", "320")
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "colorize" / "colorize.keras"
MAX_HINTS = 64
MAX_PALETTE = 8
# Colour should change only with the picture: the stabiliser may keep up to 90 %
# of the carried colour (style keeps 85 %). On pans and zooms of held-out photos
# this halved the colour's frame-to-frame change (eval colorize).
MAX_KEEP = 0.9
# Luma (0..255) -> OpenCV's uint8 Lab lightness (L x 2.55) of the grey of that luma.
LUMA_TO_L = cv2.cvtColor(np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2),
                         cv2.COLOR_BGR2Lab)[:, 0, 0].copy()
UNIT = dict(min=0.0, max=1.0)


@register
class ColorizeNode(ModelNode):
    type_name = "colorize"
    description = "Colours grey or faded video from its lightness, steered by colour hints over OSC."
    shipped = SHIPPED
    resolutions = RESOLUTIONS
    options = MODEL_OPTIONS
    params = {
        "strength": ParamSpec(FLOAT, 1.0, "0 the input frame, 1 the coloured one", min=0.0, max=1.0,
                              smoothing_s=0.2),
        "saturation": ParamSpec(FLOAT, 1.0, "scales the colour (0 grey, 2 twice as vivid)", min=0.0, max=2.0,
                                smoothing_s=0.2),
        "hint_decay_s": ParamSpec(FLOAT, 0.0, "seconds a hint takes to fade out (0: it stays until cleared)",
                                  min=0.0, max=600.0, unit="s"),
        "hint_spread": ParamSpec(FLOAT, 1.0, "how far hints reach: 1 their colour spreads over the picture "
                                 "along its edges, 0 only the network carries them (closer to where they fall)",
                                 min=0.0, max=1.0, smoothing_s=0.2),
        "stabilize": ParamSpec(FLOAT, 1.0, "motion-compensated smoothing against flicker (0 off)",
                               min=0.0, max=1.0),
        "resolution": resolution_param(RESOLUTIONS, "256"),
    }
    osc_commands = {
        "hint": OscCommand((CommandArg("x", **UNIT), CommandArg("y", **UNIT), CommandArg("r", **UNIT),
                            CommandArg("g", **UNIT), CommandArg("b", **UNIT), CommandArg("radius", min=0.0, max=0.5)),
                           "drop a colour hint: X Y (0..1 across and down the frame), R G B (0..1), "
                           "RADIUS (share of the frame, default 0.02)", optional=1),
        "palette": OscCommand((CommandArg("r", **UNIT), CommandArg("g", **UNIT), CommandArg("b", **UNIT)),
                              f"paint the whole frame from these colours: R G B (0..1), up to {MAX_PALETTE} "
                              "colours; each part takes the one nearest its lightness and automatic colour",
                              repeat=MAX_PALETTE),
        "clear": OscCommand((), "remove every colour hint and the palette"),
    }
    # Hints and the palette are part of a scene: a patch's scene may set them
    # (`colorize.palette = [R, G, B, ...]`, `colorize.hint = [[X, Y, R, G, B], ...]`)
    # and /scene/store records them.
    scene_commands = ("hint", "palette")
    scene_clear = "clear"
    status_figures = (StatusFigure("colorize/hints", "i", "colour hints in force in the colorize nodes"),
                      StatusFigure("colorize/palette_colours", "i", "colours of the colorize nodes' palettes"))

    def load(self, path: Path, backend: str, threads: int):
        return load_runner(path, CONTRACT, backend, threads)

    def model_size(self) -> int:
        return int(self.model.input_shape("lightness")[1])

    def warm_up(self) -> None:
        # x, y, a, b, radius, time, and the hint command's arguments (for scenes)
        self.hints: list[tuple[float, float, float, float, float, float, tuple]] = []
        self.palette: np.ndarray | None = None
        self.palette_rgb: tuple = ()
        self.stabilizer = Stabilizer(MAX_KEEP)
        size = self.model_size()
        self.model.run(lightness=np.full((1, size, size, 1), 0.5, np.float32),
                       hints=np.zeros((1, size, size, 3), np.float32))

    def describe(self, runtime: str) -> str:
        sizes = "/".join(map(str, sorted(self.models))) if self.model.backend == "litert" else "any size"
        return f"{sizes} px, {runtime}"

    def reset(self) -> None:
        self.stabilizer.reset()

    def take_over(self, previous) -> None:
        """A reload or a model swap keeps the performer's hints and palette."""
        super().take_over(previous)
        if isinstance(previous, ColorizeNode) and hasattr(previous, "hints"):
            self.hints, self.palette, self.palette_rgb = list(previous.hints), previous.palette, previous.palette_rgb

    def scene_state(self) -> list[tuple[str, tuple]]:
        hints, palette = list(getattr(self, "hints", ())), getattr(self, "palette_rgb", ())
        return ([("palette", palette)] if palette else []) + [("hint", hint[6]) for hint in hints]

    def status(self) -> dict[str, float]:
        return {"colorize/hints": len(getattr(self, "hints", ())),
                "colorize/palette_colours": 0 if getattr(self, "palette", None) is None else len(self.palette)}

    def _take_commands(self) -> None:
        for name, args in self.take_commands():
            # A performer's change shows at once: the stabiliser would take a second to let it in.
            self.stabilizer.reset()
            if name == "clear":
                self.hints = []
                self.palette, self.palette_rgb = None, ()
            elif name == "palette":
                self.palette, self.palette_rgb = palette_lab(args), tuple(args)
            elif name == "hint":
                x, y, r, g, b = args[:5]
                a_, b_ = rgb_to_ab(r, g, b)
                self.hints = [*self.hints[-(MAX_HINTS - 1):],
                              (x, y, a_, b_, args[5] if len(args) > 5 else 0.02, time.monotonic(), tuple(args))]

    def _hint_weights(self) -> list[tuple[float, float, float, float, float, float]]:
        """Hints as (x, y, a, b, radius share, weight) with their fade applied."""
        decay, now = self.param["hint_decay_s"], time.monotonic()
        weighted = [(hint, 1.0 if decay <= 0 else max(0.0, 1.0 - (now - hint[5]) / decay)) for hint in self.hints]
        self.hints = [hint for hint, weight in weighted if weight > 0.05]       # faded ones are gone
        return [(x, y, a, b, radius, weight) for (x, y, a, b, radius, *_), weight in weighted if weight > 0.05]

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """The coloured frame at the frame's size (BGR)."""
        self._take_commands()
        runner = self.model_for(int(self.param["resolution"]))
        size = int(runner.input_shape("lightness")[1]) if runner.backend == "litert" else int(self.param["resolution"])
        self.last_size = size
        # The frame's luma (YCrCb's Y, 0.12 ms at 640x480 where Lab took 1.3), as Lab
        # lightness at the network's size through a lookup table. Halved by a
        # Gaussian pyramid step first, then resized: 0.14 ms, where INTER_AREA took 0.72.
        ycc = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
        luma = cv2.extractChannel(ycc, 0)
        if min(luma.shape) >= 2 * size:
            luma = cv2.pyrDown(luma)
        lightness = cv2.LUT(cv2.resize(luma, (size, size), interpolation=cv2.INTER_LINEAR), LUMA_TO_L)
        hints = [(x, y, a, b, radius * size, w) for x, y, a, b, radius, w in self._hint_weights()]
        ab = runner.run(lightness=(lightness.astype(np.float32) / 255.0)[None, ..., None],
                        hints=hint_planes(size, size, hints)[None])["ab"][0]
        quarter = ab.shape[0]
        small_l = cv2.resize(lightness, (quarter, quarter), interpolation=cv2.INTER_AREA)
        if self.palette is not None or hints:
            guide = small_l.astype(np.float32) / 255.0
        if self.palette is not None:
            ab = map_to_palette(guide, ab, self.palette)
        spread = self.param["hint_spread"]
        if hints and spread > 0:       # the hints' colour reaches their whole region, fainter across edges
            spread_ab = spread_hints(guide, hint_planes(quarter, quarter, [
                (x, y, a, b, radius * quarter / size, w) for x, y, a, b, radius, w in hints]), ab)
            ab = spread_ab if spread >= 1 else spread * spread_ab + (1 - spread) * ab
        packed = np.clip(ab * AB_SCALE + 128.0, 0, 255).astype(np.uint8)
        # The colour as chroma (YCrCb's Cr, Cb) at the output size, carried along the
        # motion there; scaled up beside the frame's own full-size luma, as video
        # carries colour (4:2:0): 0.6 ms at 640x480, where recombining in Lab took
        # 3.1 (two full-size Lab conversions).
        colour = cv2.cvtColor(cv2.cvtColor(np.dstack([small_l, packed]), cv2.COLOR_Lab2BGR), cv2.COLOR_BGR2YCrCb)
        steady = self.stabilizer(np.dstack([small_l] * 3), colour, self.param["stabilize"])
        saturation = self.param["saturation"]
        if saturation != 1.0:
            # a new array: the stabiliser carries the unscaled colour
            steady = np.clip((steady.astype(np.float32) - 128.0) * saturation + 128.0, 0, 255).astype(np.uint8)
        full = cv2.resize(steady, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        cv2.mixChannels([full], [ycc], [1, 1, 2, 2])
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)
