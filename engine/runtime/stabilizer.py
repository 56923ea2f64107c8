"""Motion-compensated temporal smoothing of a model's output frames, so a
per-frame image model (style, colorization) does not flicker on video and
does not ghost after a cut. Used by model nodes at run time and by the
families' evaluations."""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_STABILIZE = 0.7


class Stabilizer:
    """Motion-compensated temporal smoothing of the painted frames.

    The previous painting is carried along the camera's motion (dense optical
    flow between the previous and the new input frame, DIS, about 0.4 ms at
    256x256) and blended into the new painting where the motion explains the
    new input: strokes then move with the scene instead of shimmering. Where the
    warped previous input does not match the new one (a cut, something that
    appeared, a wrong flow), the new painting is taken as it is, so nothing
    ghosts. `amount` 0 is off; 1 keeps up to `max_keep` of the carried
    painting (85 % for style's strokes, which should still move a little; more
    for colour, which should only change with the picture).
    """

    MISMATCH = 16.0       # input difference (0..255, local mean) at which nothing is kept
    CUT = 10.0            # ... and its mean over the frame above which it is a new shot

    def __init__(self, max_keep: float = 0.85) -> None:
        self.max_keep = max_keep
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.previous_in: np.ndarray | None = None
        self.previous_gray: np.ndarray | None = None
        self.previous_out: np.ndarray | None = None
        self._grid: np.ndarray | None = None

    def reset(self) -> None:
        self.previous_in = self.previous_gray = self.previous_out = None

    def __call__(self, new_in: np.ndarray, new_out: np.ndarray, amount: float) -> np.ndarray:
        gray = cv2.cvtColor(new_in, cv2.COLOR_RGB2GRAY)
        out = new_out
        if amount > 0 and self.previous_out is not None and self.previous_in.shape == new_in.shape:
            h, w = gray.shape
            if self._grid is None or self._grid.shape[1:] != (h, w):
                self._grid = np.indices((h, w)).astype(np.float32)
            flow = self.flow.calc(gray, self.previous_gray, None)      # where each new pixel was before
            map_x, map_y = self._grid[1] + flow[..., 0], self._grid[0] + flow[..., 1]
            carried_in = cv2.remap(self.previous_in, map_x, map_y, cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
            carried_out = cv2.remap(self.previous_out, map_x, map_y, cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            mismatch = cv2.blur(cv2.absdiff(new_in, carried_in).mean(axis=-1).astype(np.float32), (5, 5))
            if float(mismatch.mean()) < self.CUT:
                keep = (self.max_keep * amount) * np.clip(1.0 - mismatch / self.MISMATCH, 0.0, 1.0)[..., None]
                blended = new_out.astype(np.float32) + keep * (carried_out.astype(np.float32) - new_out)
                out = (blended + 0.5).astype(np.uint8)
        self.previous_in, self.previous_gray, self.previous_out = new_in, gray, out
        return out
