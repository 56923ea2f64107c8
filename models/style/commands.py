"""`tensorstage train style` and `tensorstage eval style` (added by models/commands.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.common import checkpoint


def register(trainers, evals) -> None:
    train_style = trainers.add_parser("style", help="a multi-style network distilled from the Magenta teacher")
    train_style.add_argument("--style", action="append", required=True, metavar="IMG",
                             help="a style: image file, manifest id (opencv-doc/starry_night.jpg) or "
                                  "generated:mosaic / generated:ink_waves; repeat for each style")
    checkpoint.add_run_options(train_style, "style-run", "preview.jpg and style.keras", 45.0, 6)
    train_style.add_argument("--crop", type=int, default=128, help="training window in pixels")
    train_style.add_argument("--channels", default="16,32,64",
                             help="network widths at 1/2, 1/4 and 1/8 size (default 16,32,64: 1.2 GFLOP at 256)")
    train_style.add_argument("--gram-weight", type=float, default=0.5, help="weight of the Gram (texture) loss")
    train_style.add_argument("--packages", nargs="+", metavar="PACKAGE",
                             help="only photos from these packages (e.g. scikit-image for a quick test)")
    train_style.set_defaults(func=_train_style)

    eval_style = evals.add_parser("style", help="style/content distance vs the teacher, temporal error, settling")
    eval_style.add_argument("--model", type=Path, help="a style .tflite (default: the shipped int8 model)")
    eval_style.add_argument("--photos", type=int, help="use only this many held-out photos")
    eval_style.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    eval_style.add_argument("--sheet", type=Path, metavar="JPG", help="also write held-out photos beside "
                            "their paintings (docs/style_sheet.jpg)")
    eval_style.set_defaults(func=_eval_style)


def _eval_style(args: argparse.Namespace) -> int:
    from models.style.eval import contact_sheet, main as eval_style
    if args.sheet:
        print(f"wrote {contact_sheet(args.sheet, args.model)}")
    return eval_style(args.model, args.json, args.photos)


def _train_style(args: argparse.Namespace) -> int:
    from models.style.train import Settings, main as train_style
    settings = Settings(out_dir=args.out, time_budget_s=args.time_budget * 60, steps=args.steps,
                        batch=args.batch, crop=args.crop, packages=args.packages,
                        channels=tuple(int(c) for c in args.channels.split(",")), gram_weight=args.gram_weight)
    return train_style(args.style, settings)
