"""The command line the families' GPU checks share (models/<family>/gpu_check.py):
`--model`, `--frames`, `--float32`, `--json`; prints the figures and writes
them as flat JSON. Imports nothing heavy: on a lent GPU machine only keras,
jax, numpy and h5py are there."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Callable


def run_check(description: str, default_model: Path, measure: Callable[[Path, int, bool], dict],
              argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", type=Path, default=default_model)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--float32", action="store_true", help="measure float32 instead of float16")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    if os.environ.get("KERAS_BACKEND") != "jax":
        print("note: KERAS_BACKEND is not jax; measuring with", os.environ.get("KERAS_BACKEND", "tensorflow"))
    figures = measure(args.model, args.frames, not args.float32)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0
