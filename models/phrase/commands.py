"""`tensorstage train phrase`, `eval phrase` and `bench phrase` (added by models/commands.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.common import checkpoint


def register(trainers, evals) -> None:
    train = trainers.add_parser("phrase", help="the phrase RNN on the rendered tunes' pitch and loudness "
                                               "(train split)")
    checkpoint.add_run_options(train, "phrase-run", "preview.wav and phrase.keras/.tflite", 20.0, 32)
    train.add_argument("--units", type=int, default=256, help="GRU units")
    train.set_defaults(func=_train)
    evaluate = evals.add_parser("phrase", help="likelihood against a Markov chain, key kept, pitch and interval "
                                               "statistics of generated continuations, on held-out tunes")
    evaluate.add_argument("--model", type=Path, help="a phrase .tflite (default: the shipped model)")
    evaluate.add_argument("--continuations", type=int, default=100, help="primed continuations (default 100)")
    evaluate.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    evaluate.set_defaults(func=_eval)


def _train(args: argparse.Namespace) -> int:
    from models.phrase.train import Settings, main
    return main(Settings(out_dir=args.out, time_budget_s=args.time_budget * 60, steps=args.steps,
                         batch=args.batch, units=args.units))


def _eval(args: argparse.Namespace) -> int:
    from models.phrase.eval import main
    return main(args.model, args.json, args.continuations)


def register_bench(benches) -> None:
    bench = benches.add_parser("phrase", help="the phrase RNN composing one second of controls on one core, and "
                                              "call and response live on PipeWire beside the style network")
    bench.add_argument("--seconds", type=float, default=60.0, help="live seconds measured (default 60)")
    bench.add_argument("--no-live", action="store_true", help="only the composing figures")
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    bench.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from models.phrase.live_bench import main
    return main(args.seconds, args.json, not args.no_live)
