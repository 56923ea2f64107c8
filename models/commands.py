"""The offline commands of the model families, added to `tensorstage` by the
entry point `tensorstage.commands` (pyproject.toml), so the engine never
imports this package: `data`, `quantize`, `bench models`, and `train FAMILY` /
`eval FAMILY` for each family folder with a `commands.py` (models/style/...),
and `bench FAMILY` where that module has a `register_bench`.

Importing this module stays cheap (it runs for `tensorstage --help`): the
work is imported inside each command.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path


def register(cli) -> None:
    data_commands = cli.group("data", "training data: the manifest of packaged photos and cached crops")
    prepare = data_commands.add_parser("prepare", help="cache crops of the manifest's photos at training sizes")
    prepare.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[128, 256],
                         help="crop sizes in pixels, comma-separated (default 128,256)")
    prepare.add_argument("--crops-per-image", type=int, default=16)
    prepare.add_argument("--packages", nargs="+", metavar="PACKAGE", help="only these source packages")
    prepare.add_argument("--cache", type=Path, help="cache folder (default ~/.cache/tensorstage/data "
                         "or $TENSORSTAGE_DATA_CACHE)")
    prepare.set_defaults(func=_data_prepare)
    audio = data_commands.add_parser("audio", help="render tunes from music21's corpus with FluidSynth, "
                                     "with exact f0 and loudness per 10 ms")
    audio.add_argument("--tunes", type=int, default=60, help="how many tunes (default 60)")
    audio.add_argument("--instruments", default="flute,violin,trumpet",
                       help="comma-separated: flute, violin, trumpet, clarinet, cello")
    audio.add_argument("--seconds", type=float, default=20.0, help="longest stretch of a tune to render")
    audio.add_argument("--cache", type=Path, help="cache folder (default as for `data prepare`)")
    audio.set_defaults(func=_data_audio)
    manifest = data_commands.add_parser("manifest", help="compare the committed manifest with this machine")
    manifest.add_argument("--write", action="store_true", help="rewrite the manifest from what is installed")
    manifest.set_defaults(func=_data_manifest)

    benches = cli.group("bench")
    models_bench = benches.add_parser("models", help="per-frame inference of the shipped models, int8 vs naive")
    models_bench.add_argument("--frames", type=int, default=200, help="timed frames per model (default 200)")
    models_bench.add_argument("--no-keras", action="store_true", help="skip the TensorFlow float32 comparison")
    models_bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    models_bench.set_defaults(func=_bench_models)

    quantize = cli.command("quantize", "a .keras image model to LiteRT int8/dynamic/fp16 with a card")
    quantize.add_argument("model", type=Path, metavar="MODEL", help="a .keras model (image, or image + style)")
    quantize.add_argument("--mode", choices=("int8", "dynamic", "fp16"), default="int8")
    quantize.add_argument("--calibration", type=Path, metavar="DIR",
                          help="real images to calibrate with (default: the cached training crops)")
    quantize.add_argument("--size", type=int, help="input size in pixels when the model's is free (default 256 "
                          "for the style model)")
    quantize.add_argument("--out", type=Path, help="the .tflite to write (default MODEL_MODE.tflite beside it)")
    quantize.set_defaults(func=_quantize)

    trainers = cli.group("train", "train a model family offline (time budget, checkpoints, resume)")
    evals = cli.group("eval", "quality of a model family on held-out data (table; --json)")
    for family in families():
        family.register(trainers, evals)
        if hasattr(family, "register_bench"):            # a family's own live benchmark (bench timbre)
            family.register_bench(benches)


def families() -> list:
    """The `commands` module of every family folder under models/, by name."""
    import models
    found = []
    for info in sorted(pkgutil.iter_modules(models.__path__), key=lambda i: i.name):
        if info.ispkg and (Path(models.__path__[0]) / info.name / "commands.py").exists():
            found.append(importlib.import_module(f"models.{info.name}.commands"))
    return found


def _data_prepare(args: argparse.Namespace) -> int:
    from models.common import data
    try:
        figures = data.prepare(args.sizes, args.crops_per_image, cache=args.cache, packages=args.packages)
    except data.DataError as exc:
        print(f"tensorstage data prepare: {exc}", file=sys.stderr)
        return 1
    print(f"data: {figures['photos']} photos -> {data.cache_dir(args.cache)}")
    for split in data.SPLITS:
        sizes = ", ".join(f"{figures[f'{split}_{size}_crops']} at {size}px" for size in args.sizes)
        print(f"  {split:<10} {figures[f'{split}_photos']:>3} photos: {sizes}")
    return 0


def _data_audio(args: argparse.Namespace) -> int:
    from models.common import audio_data
    instruments = [i.strip() for i in args.instruments.split(",") if i.strip()]
    unknown = [i for i in instruments if i not in audio_data.INSTRUMENTS]
    if unknown:
        print(f"tensorstage data audio: unknown instrument {unknown[0]!r}; choose from "
              f"{', '.join(audio_data.INSTRUMENTS)}", file=sys.stderr)
        return 2
    try:
        figures = audio_data.prepare(args.tunes, instruments, cache=args.cache, max_seconds=args.seconds)
    except audio_data.AudioDataError as exc:
        print(f"tensorstage data audio: {exc}", file=sys.stderr)
        return 1
    print(f"audio data: {figures['tunes']} tunes x {len(instruments)} instruments = {figures['files']} files "
          f"({figures['train_files']} train, {figures['validation_files']} validation, "
          f"{figures['test_files']} test; {figures['skipped']} tunes skipped), soundfont {figures['soundfont']}")
    return 0


def _data_manifest(args: argparse.Namespace) -> int:
    from models.common import data
    found = {e.id: e for e in data.discover()}
    committed = {e.id: e for e in data.read_manifest()}
    if args.write:
        # Keep committed entries whose package is not installed here: the split is shared.
        kept = [e for i, e in committed.items() if i not in found]
        data.write_manifest(sorted(kept + list(found.values()), key=lambda e: e.id))
        print(f"{data.MANIFEST}: {len(found)} found here, {len(kept)} kept from packages not installed")
        return 0
    new = sorted(set(found) - set(committed))
    changed = sorted(i for i in set(found) & set(committed) if found[i] != committed[i])
    absent = sorted(set(committed) - set(found))
    print(f"{data.MANIFEST}: {len(committed)} entries; on this machine {len(found)}")
    for label, ids in (("not in the manifest", new), ("differs from the manifest", changed),
                       ("not installed here", absent)):
        if ids:
            print(f"  {label}: {len(ids)} (e.g. {ids[0]})")
    missing = data.missing_packages(committed.values())
    if missing:
        print(f"  to install the rest: {data.install_hint(missing)}")
    return 1 if new or changed else 0


def _bench_models(args: argparse.Namespace) -> int:
    from models.bench.shipped import main as bench_models
    return bench_models(args.frames, args.json, keras=not args.no_keras)


def _quantize(args: argparse.Namespace) -> int:
    from models.common.quantize import main as quantize
    return quantize(args.model, args.mode, args.out, args.calibration, args.size)
