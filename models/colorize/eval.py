"""`tensorstage eval colorize`: the shipped colorization model on the held-out
photos (the manifest's test split, never trained on), run through the
`colorize` node itself (what a show runs), against two baselines:

- the grey image itself (PSNR of the lightness with no colour);
- colorization by optimization (Levin, Lischinski and Weiss 2004): the same
  hints spread by a sparse linear solve in which neighbours of similar
  lightness get similar colour (models/colorize/baseline.py).

Figures: PSNR (RGB, 0..1) of grey, automatic (no hints), 10 hints from the
truth, and the classical propagation with the same 10 hints; colourfulness
(Hasler and Suesstrunk) of the automatic colour as a share of the truth's;
temporal error on synthetic pans and zooms with the stabiliser off and at the
node's default, on the colour the node adds (the chroma, YCrCb's Cr and Cb,
which is what the node writes beside the input's own luma; measured in RGB
the input's resampling alone would leave an error of 0.0015 that no
colouring can remove); frames to settle after a cut.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np


SIZE = 256
HINTS = 10
HINT_RADIUS_PX = 2      # a 5 x 5 square at 256 px, as in training (1-9 px)


def held_out_photos(size: int = SIZE, limit: int | None = None, split: str = "test") -> tuple[list[str], np.ndarray]:
    from models.common.data import held_out_photos as photos
    return photos(size, limit, split)


def truth_hints(rgb: np.ndarray, count: int, rng: np.random.Generator) -> list[tuple]:
    """`count` hints (x, y, r, g, b, radius share) of the true mean colour of small squares."""
    h, w = rgb.shape[:2]
    out = []
    for _ in range(count):
        y, x = int(rng.integers(HINT_RADIUS_PX, h - HINT_RADIUS_PX)), int(rng.integers(HINT_RADIUS_PX, w - HINT_RADIUS_PX))
        patch = rgb[y - HINT_RADIUS_PX:y + HINT_RADIUS_PX + 1, x - HINT_RADIUS_PX:x + HINT_RADIUS_PX + 1]
        r, g, b = (patch.reshape(-1, 3).mean(axis=0) / 255.0).tolist()
        out.append((x / (w - 1), y / (h - 1), r, g, b, HINT_RADIUS_PX / w))
    return out


def _node(model_path: Path | None, stabilize: float | None):
    from engine.harness import NodeHarness
    options = {"threads": 1, **({"path": str(model_path)} if model_path else {})}
    node = NodeHarness("colorize", options=options, name="colorize")
    if not node.open():
        raise RuntimeError("; ".join(node.events.messages("error")))
    if stabilize is not None:        # None: the node's default
        node.set_param("stabilize", stabilize, fade_s=0)
    return node


def colour(node, frames_rgb: np.ndarray, hints: list[tuple] = ()) -> np.ndarray:
    """The node's colour for each RGB frame (hints sent before the first)."""
    from engine.packet import Packet
    node.node.post_command("clear", ())
    for hint in hints:
        node.node.post_command("hint", tuple(hint))
    out = []
    for rgb in frames_rgb:
        _stamp[0] += 1
        packet = node.feed(video=Packet(np.ascontiguousarray(rgb[..., ::-1]), _stamp[0]))["video"]
        out.append(packet.value[..., ::-1])
    return np.stack(out)


_stamp = [0]        # packet times only go up
SATURATION_SWEEP_PCT = (80, 70, 60)


def chroma(frames_rgb: np.ndarray) -> np.ndarray:
    """RGB frames (0..1) -> their chroma (YCrCb's Cr and Cb, the channels the
    node writes; the luma is the input's own) as -1..1, shifted to 1..3 (the
    temporal metric marks outside the picture with -1)."""
    import cv2
    return np.stack([cv2.cvtColor(f.astype(np.float32), cv2.COLOR_RGB2YCrCb)[..., 1:] * 2.0 + 1.0
                     for f in frames_rgb])


def run(model_path: Path | None = None, limit: int | None = None, frames: int = 8, progress=print,
        split: str = "test") -> dict:
    from engine.runtime.color import from_lab, to_lab
    from models.colorize.baseline import levin_colorize
    from models.common import metrics

    started = time.monotonic()
    names, photos = held_out_photos(SIZE, limit, split)
    node = _node(model_path, stabilize=0.0)
    rng = np.random.default_rng(0)
    scores: dict[str, list[float]] = {k: [] for k in ("grey", "automatic", "hints", "levin", "colourfulness_ratio")}
    for name, rgb in zip(names, photos):
        truth = rgb.astype(np.float32) / 255.0
        lab = to_lab(rgb)
        grey = from_lab(lab[..., 0], np.zeros_like(lab[..., 1:])).astype(np.float32) / 255.0
        auto = colour(node, rgb[None])[0].astype(np.float32) / 255.0
        hints = truth_hints(rgb, HINTS, rng)
        hinted = colour(node, rgb[None], hints)[0].astype(np.float32) / 255.0
        levin = levin_colorize(rgb, hints, HINT_RADIUS_PX).astype(np.float32) / 255.0
        scores["grey"].append(metrics.psnr(grey, truth))
        scores["automatic"].append(metrics.psnr(auto, truth))
        scores["hints"].append(metrics.psnr(hinted, truth))
        scores["levin"].append(metrics.psnr(levin, truth))
        scores["colourfulness_ratio"].append(metrics.colourfulness(auto) / max(metrics.colourfulness(truth), 1e-6))
        progress(f"eval colorize: {name}: PSNR grey {scores['grey'][-1]:.1f}, automatic {scores['automatic'][-1]:.1f}, "
                 f"10 hints {scores['hints'][-1]:.1f}, Levin {scores['levin'][-1]:.1f} dB")
    figures = {"photos": len(names), "split": split, "model": str(model_path or "shipped")}
    for key, values in scores.items():
        figures[f"{key}_psnr_db" if key != "colourfulness_ratio" else key] = float(np.mean(values))
    # The automatic colour at lower saturation: where PSNR and colourfulness meet
    # (PSNR rewards the muted average, the colourfulness target asks for colour).
    for percent in SATURATION_SWEEP_PCT:
        node.set_param("saturation", percent / 100, fade_s=0)
        autos = [colour(node, rgb[None])[0].astype(np.float32) / 255.0 for rgb in photos]
        figures[f"automatic_psnr_db_at_saturation_{percent}pct"] = float(np.mean(
            [metrics.psnr(a, rgb.astype(np.float32) / 255.0) for a, rgb in zip(autos, photos)]))
        figures[f"colourfulness_ratio_at_saturation_{percent}pct"] = float(np.mean(
            [metrics.colourfulness(a) / max(metrics.colourfulness(rgb.astype(np.float32) / 255.0), 1e-6)
             for a, rgb in zip(autos, photos)]))
    node.set_param("saturation", 1.0, fade_s=0)
    figures["hints_gain_over_grey_db"] = figures["hints_psnr_db"] - figures["grey_psnr_db"]
    figures["hints_gain_over_levin_db"] = figures["hints_psnr_db"] - figures["levin_psnr_db"]

    # Temporal error: pans and zooms over the first photos, stabiliser off and on.
    steady = _node(model_path, stabilize=None)
    for label, n in (("per_frame", node), ("stabilized", steady)):
        errors = []
        for photo in photos[: max(1, min(3, len(photos)))]:
            for move in ({"pan_px": 2.0}, {"zoom": 1.01}):
                clip, maps = metrics.camera_move(photo, frames, size=SIZE, **move)
                out = colour(n, (clip * 255 + 0.5).astype(np.uint8)) / 255.0
                errors.append(metrics.temporal_error(chroma(out), maps))
        figures[f"temporal_error_{label}"] = float(np.mean(errors))
    figures["temporal_ratio"] = figures["temporal_error_stabilized"] / max(figures["temporal_error_per_frame"], 1e-9)
    a, b = photos[0], photos[-1] if len(photos) > 1 else photos[0][::-1]
    outs = colour(steady, np.stack([a] * 4 + [b] * 8)) / 255.0
    figures["frames_to_settle_after_cut"] = metrics.frames_to_settle(outs, 4, tolerance=0.01)
    figures["seconds"] = time.monotonic() - started
    node.close()
    steady.close()
    return figures


def table(figures: dict) -> str:
    return "\n".join([
        f"eval colorize: {figures['model']} on {figures['photos']} {figures['split']}-split photos",
        "",
        f"{'':<34}{'PSNR dB':>9}",
        f"{'grey (the lightness alone)':<34}{figures['grey_psnr_db']:>9.2f}",
        f"{'automatic (no hints)':<34}{figures['automatic_psnr_db']:>9.2f}",
        f"{f'{HINTS} hints from the truth':<34}{figures['hints_psnr_db']:>9.2f}",
        f"{f'Levin et al. 2004, same {HINTS} hints':<34}{figures['levin_psnr_db']:>9.2f}",
        "",
        f"colourfulness of the automatic colour: {100 * figures['colourfulness_ratio']:.0f} % of the truth's",
        "automatic at lower saturation: " + ", ".join(
            f"{p} % {figures[f'automatic_psnr_db_at_saturation_{p}pct']:.2f} dB "
            f"({100 * figures[f'colourfulness_ratio_at_saturation_{p}pct']:.0f} % colourful)"
            for p in SATURATION_SWEEP_PCT),
        f"hints: {figures['hints_gain_over_grey_db']:+.2f} dB over grey, "
        f"{figures['hints_gain_over_levin_db']:+.2f} dB over Levin",
        f"temporal error: per frame {figures['temporal_error_per_frame']:.4f}, stabilized "
        f"{figures['temporal_error_stabilized']:.4f} ({100 * figures['temporal_ratio']:.0f} %)",
        f"frames to settle after a cut: {figures['frames_to_settle_after_cut']}",
        f"({figures['seconds']:.0f} s)",
    ])


def contact_sheet(path: Path, model_path: Path | None = None, count: int = 3) -> Path:
    """Held-out photos, a row each: grey input | automatic colour | 10 hints
    (marked) | the truth. For the README."""
    import cv2

    from engine.runtime.color import from_lab, to_lab
    names, photos = held_out_photos(SIZE, count)
    node = _node(model_path, stabilize=0.0)
    rng = np.random.default_rng(0)
    rows = []
    for rgb in photos:
        lab = to_lab(rgb)
        grey = from_lab(lab[..., 0], np.zeros_like(lab[..., 1:]))
        hints = truth_hints(rgb, HINTS, rng)
        hinted = colour(node, rgb[None], hints)[0].copy()
        for x, y, *_ in hints:
            cv2.rectangle(hinted, (int(x * (SIZE - 1)) - 4, int(y * (SIZE - 1)) - 4),
                          (int(x * (SIZE - 1)) + 4, int(y * (SIZE - 1)) + 4), (255, 255, 255), 1)
        rows.append(np.concatenate([grey, colour(node, rgb[None])[0], hinted, rgb], axis=1))
    node.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(rows, axis=0)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    return path


def main(model_path=None, json_path=None, limit=None, split="test") -> int:
    figures = run(model_path, limit, split=split)
    print(table(figures))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0
