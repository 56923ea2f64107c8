"""`tensorstage train colorize` (added by models/commands.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.common import checkpoint


def register(trainers, evals) -> None:
    train = trainers.add_parser("colorize", help="the colorization network on the train-split photos, "
                                                 "with simulated colour hints")
    checkpoint.add_run_options(train, "colorize-run", "preview.jpg and colorize.keras", 40.0, 16)
    train.add_argument("--crop", type=int, default=128, help="crop size to train on (a multiple of 8)")
    train.add_argument("--rebalance", type=float, default=1.0,
                       help="1 the plain loss, 0 fully inverse-frequency colour weights (Zhang et al. 2016's lambda)")
    train.add_argument("--loss", choices=("huber", "l2"), default="l2",
                       help="huber (nearly L1, bolder colour) or l2 (the mean colour, what PSNR rewards)")
    train.add_argument("--threads", type=int, help="CPU threads for training (default: all)")
    train.add_argument("--mean-hints", type=float, default=8.0,
                       help="hints per crop when a crop has any (a geometric number with this mean; default 8)")
    train.add_argument("--hint-hue-jitter", type=float, default=0.5,
                       help="share of hinted crops whose colours turn by a random hue, so only the hints tell "
                            "the colour (teaches the network to follow hints; default 0.5)")
    train.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW's weight decay (default 1e-4)")
    train.add_argument("--widths", default="16,32,64", help="network widths at 1/2, 1/4 and 1/8 size")
    train.set_defaults(func=_train)
    evaluate = evals.add_parser("colorize", help="PSNR against grey and Levin et al. on held-out photos, "
                                                  "colourfulness, temporal error, settling")
    evaluate.add_argument("--model", type=Path, help="a colorize .tflite or .keras (default: the shipped model)")
    evaluate.add_argument("--photos", type=int, help="use only this many held-out photos")
    evaluate.add_argument("--split", choices=("test", "validation"), default="test",
                          help="the held-out photos (test), or the validation photos to choose a recipe on")
    evaluate.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    evaluate.add_argument("--sheet", type=Path, metavar="JPG", help="also write held-out photos: grey, "
                          "automatic, 10 hints, truth (docs/colorize_sheet.jpg)")
    evaluate.set_defaults(func=_eval)


def _train(args: argparse.Namespace) -> int:
    from models.colorize.train import Settings, main
    settings = Settings(out_dir=args.out, time_budget_s=args.time_budget * 60, steps=args.steps,
                        batch=args.batch, crop=args.crop, widths=tuple(int(w) for w in args.widths.split(",")),
                        rebalance=args.rebalance, loss=args.loss, hint_hue_jitter=args.hint_hue_jitter,
                        weight_decay=args.weight_decay, threads=args.threads, mean_hints=args.mean_hints)
    return main(settings)


def _eval(args: argparse.Namespace) -> int:
    from models.colorize.eval import contact_sheet, main
    if args.sheet:
        print(f"wrote {contact_sheet(args.sheet, args.model)}")
    return main(args.model, args.json, args.photos, args.split)
