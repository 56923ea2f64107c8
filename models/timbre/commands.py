"""`tensorstage train timbre` and `tensorstage eval timbre` (added by models/commands.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.common import checkpoint


def register(trainers, evals) -> None:
    train = trainers.add_parser("timbre", help="the timbre-transfer network on the rendered tunes' training split")
    train.add_argument("--instrument", action="append", dest="instruments", metavar="NAME",
                       help="an instrument to learn (repeat; default violin, flute, cello); "
                            "render them first with `tensorstage data audio --instruments ...`")
    checkpoint.add_run_options(train, "timbre-run", "preview.wav and timbre.keras/.tflite", 30.0, 16)
    train.add_argument("--units", type=int, default=256, help="GRU units")
    train.add_argument("--stage", choices=("controls", "spectral"), default="controls",
                       help="controls: regress on the controls measured from the renderings (first); spectral: "
                            "fine-tune --init through the synthesizer on the multi-scale spectral distance")
    train.add_argument("--init", type=Path, metavar="KERAS",
                       help="the first-stage timbre.keras the spectral stage starts from")
    train.add_argument("--learning-rate", type=float, metavar="RATE",
                       help="Adam's starting rate (default 3e-3 for controls, 5e-4 for the spectral fine-tune)")
    train.add_argument("--limit", type=int, help="use only this many renderings per split (a quick try)")
    train.set_defaults(func=_train)
    evaluate = evals.add_parser("timbre", help="spectral distance, re-tracked pitch and loudness on held-out "
                                               "tunes against a pitch-and-loudness lookup table")
    evaluate.add_argument("--model", type=Path, help="a timbre .tflite (default: the shipped model)")
    evaluate.add_argument("--tunes", type=int, default=6, help="held-out tunes per instrument (default 6)")
    evaluate.add_argument("--seconds", type=float, default=10.0, help="seconds of each tune (default 10)")
    evaluate.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    evaluate.add_argument("--picture", type=Path, metavar="JPG",
                          help="also write a before/after spectrogram (docs/timbre_spectrogram.jpg)")
    evaluate.set_defaults(func=_eval)


def register_bench(benches) -> None:
    bench = benches.add_parser("timbre", help="the timbre node live on PipeWire at 256 frames beside the style "
                                              "patch: underflows, round trip, pitch heard back")
    bench.add_argument("--seconds", type=float, default=60.0, help="seconds measured (default 60)")
    bench.add_argument("--no-style", action="store_true", help="without the style network painting beside it")
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    bench.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from models.timbre.live_bench import main
    return main(args.seconds, args.json, not args.no_style)


def _train(args: argparse.Namespace) -> int:
    from models.timbre.train import DEFAULT_INSTRUMENTS, Settings, main
    settings = Settings(out_dir=args.out, instruments=tuple(args.instruments or DEFAULT_INSTRUMENTS),
                        time_budget_s=args.time_budget * 60, steps=args.steps, batch=args.batch,
                        units=args.units, limit=args.limit, stage=args.stage, init=args.init,
                        learning_rate=args.learning_rate or (3e-3 if args.stage == "controls" else 5e-4))
    return main(settings)


def _eval(args: argparse.Namespace) -> int:
    from models.timbre.eval import main
    return main(args.model, args.json, args.tunes, args.seconds, args.picture)
