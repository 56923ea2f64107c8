"""`tensorstage train sample-rnn`, `eval sample-rnn` and `bench sample-rnn` (added by models/commands.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.common import checkpoint


def register(trainers, evals) -> None:
    train = trainers.add_parser("sample-rnn", help="the sample-level RNN on the generated textures (rain, wind, "
                                                   "drone, fire)")
    checkpoint.add_run_options(train, "sample-rnn-run", "preview.wav and sample_rnn.npz/.keras", 80.0, 32)
    train.add_argument("--units", type=int, default=256, help="GRU units")
    train.add_argument("--hidden", type=int, default=128, help="units of the layer before the logits")
    train.add_argument("--clips", type=int, default=12, help="10 s training clips per texture (default 12)")
    train.set_defaults(func=_train)
    evaluate = evals.add_parser("sample-rnn", help="bits per sample on held-out clips of each texture against "
                                                   "the unigram and an order-16 linear prediction; spectra of "
                                                   "generated audio")
    evaluate.add_argument("--model", type=Path, help="a sample_rnn .npz (default: the shipped model)")
    evaluate.add_argument("--seconds", type=float, default=10.0, help="held-out seconds per texture (default 10)")
    evaluate.add_argument("--temperature", type=float, default=1.0, help="of the generated audio (default 1)")
    evaluate.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    evaluate.set_defaults(func=_eval)


def _train(args: argparse.Namespace) -> int:
    from models.sample_rnn.train import Settings, main
    return main(Settings(out_dir=args.out, time_budget_s=args.time_budget * 60, steps=args.steps,
                         batch=args.batch, units=args.units, hidden=args.hidden, clips=args.clips))


def _eval(args: argparse.Namespace) -> int:
    from models.sample_rnn.eval import main
    return main(args.model, args.json, args.seconds, args.temperature)


def register_bench(benches) -> None:
    bench = benches.add_parser("sample-rnn", help="real-time factor of GRU sizes on one core, and the shipped "
                                                  "texture node live on PipeWire beside the style network")
    bench.add_argument("--seconds", type=float, default=60.0, help="live seconds measured (default 60)")
    bench.add_argument("--no-live", action="store_true", help="only the real-time factors")
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    bench.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from models.sample_rnn.realtime_bench import main
    return main(args.seconds, args.json, not args.no_live)
