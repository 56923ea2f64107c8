"""The `tensorstage` command.

Fast subcommands (`--help`, `check`, `devices`) import nothing heavy: no
TensorFlow, no model runtime. `run` imports only what the patch's nodes need.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from engine import __version__


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return args.func(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tensorstage",
        description="Real-time performance engine: camera, microphone and OSC through TensorFlow "
                    "models to screen, speakers and OSC.")
    parser.add_argument("--version", action="version", version=f"tensorstage {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a patch (the bundled default patch if none is given)")
    run.add_argument("patch", nargs="?", default="default",
                     help="patch file, or the name of a bundled patch (default: default)")
    run.add_argument("--duration", type=float, metavar="SECONDS",
                     help="stop after this many seconds (default: run until Ctrl-C or q)")
    run.add_argument("--headless", action="store_true",
                     help="open no window: windows record to a file instead")
    run.add_argument("--output-dir", type=Path, default=Path("tensorstage-output"),
                     help="where headless output and recordings go (default: ./tensorstage-output)")
    run.add_argument("--no-reload", action="store_true", help="do not reload the patch when its file changes")
    run.add_argument("--stats-json", type=Path, metavar="PATH",
                     help="write every node's figures as JSON when the run ends")
    run.add_argument("--quiet", action="store_true", help="no live status line")
    run.add_argument("--osc-in", metavar="[HOST:]PORT",
                     help="where the OSC server listens (default: the patch's [osc] listen, else 127.0.0.1:9000)")
    run.add_argument("--osc-out", metavar="HOST:PORT", action="append",
                     help="send control streams and the heartbeat here (repeatable)")
    run.add_argument("--no-osc", action="store_true", help="do not listen for OSC")
    run.set_defaults(func=_run)

    osc = commands.add_parser("osc", help="the OSC address space of a patch")
    osc_commands = osc.add_subparsers(dest="osc_command", metavar="WHAT", required=True)
    osc_list = osc_commands.add_parser("list", help="every address a patch answers and sends")
    osc_list.add_argument("patch", nargs="?", default="default")
    osc_list.set_defaults(func=_osc_list)

    check = commands.add_parser("check", help="validate patch files without running them")
    check.add_argument("patches", nargs="+", metavar="PATCH")
    check.set_defaults(func=_check)

    bench = commands.add_parser("bench", help="measure speed and latency (prints a table; --json writes it)")
    benches = bench.add_subparsers(dest="bench", metavar="WHAT", required=True)
    video = benches.add_parser("video", help="glass-to-glass latency from pixels of a real window, and fps")
    video.add_argument("--seconds", type=float, default=30.0, help="length of each scenario (default 30)")
    video.add_argument("--slow-ms", type=float, default=50.0, help="time the slow node spends per frame")
    video.add_argument("--width", type=int, default=640)
    video.add_argument("--height", type=int, default=480)
    video.add_argument("--fps", type=float, default=30.0, help="rate of the test pattern")
    video.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    video.set_defaults(func=_bench_video)
    osc_bench = benches.add_parser("osc", help="video latency while another process floods the OSC server")
    osc_bench.add_argument("--seconds", type=float, default=10.0, help="length of each phase (default 10)")
    osc_bench.add_argument("--rate", type=float, default=10000.0, help="messages per second (default 10000)")
    osc_bench.add_argument("--server", choices=("thread", "process", "both"), default="thread",
                           help="the OSC server in a thread of the engine's process, in its own process, or both")
    osc_bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    osc_bench.set_defaults(func=_bench_osc)
    audio_bench = benches.add_parser("audio", help="underflows, jitter and round trip on PipeWire, idle and loaded")
    audio_bench.add_argument("--seconds", type=float, default=10.0, help="length of each phase (default 10)")
    audio_bench.add_argument("--blocks", type=int, nargs="+", default=[256, 128], help="block sizes")
    audio_bench.add_argument("--buffer-blocks", type=int, default=4,
                             help="device buffer in periods, for speakers and microphone (default 4, as the nodes)")
    audio_bench.add_argument("--design", choices=("inprocess", "process", "both"), default="process",
                             help="where the audio streams run: in the audio process, fed through shared "
                                  "memory (what the engine uses), in the engine's process, or both to compare")
    audio_bench.add_argument("--streams", choices=("two", "duplex", "both"), default="two",
                             help="microphone and speakers on two streams (what the engine opens on "
                                  "PipeWire), on one duplex stream, or both to compare")
    audio_bench.add_argument("--normal-priority", action="store_true",
                             help="the audio process's stream threads at normal priority ([audio] realtime = false)")
    audio_bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    audio_bench.set_defaults(func=_bench_audio)

    data = commands.add_parser("data", help="training data: the manifest of packaged photos and cached crops")
    data_commands = data.add_subparsers(dest="data", metavar="WHAT", required=True)
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

    train = commands.add_parser("train", help="train a model family offline (time budget, checkpoints, resume)")
    trainers = train.add_subparsers(dest="family", metavar="FAMILY", required=True)
    train_style = trainers.add_parser("style", help="a multi-style network distilled from the Magenta teacher")
    train_style.add_argument("--style", action="append", required=True, metavar="IMG",
                             help="a style: image file, manifest id (opencv-doc/starry_night.jpg) or "
                                  "generated:mosaic / generated:ink_waves; repeat for each style")
    train_style.add_argument("--out", type=Path, default=Path("style-run"),
                             help="folder for checkpoints, preview.jpg and style.keras (resumes if present)")
    train_style.add_argument("--time-budget", type=float, default=45.0, metavar="MIN",
                             help="minutes of training, counted across resumes (default 45)")
    train_style.add_argument("--steps", type=int, help="stop after this many steps instead")
    train_style.add_argument("--batch", type=int, default=6)
    train_style.add_argument("--crop", type=int, default=128, help="training window in pixels")
    train_style.add_argument("--channels", default="16,32,64",
                             help="network widths at 1/2, 1/4 and 1/8 size (default 16,32,64: 1.2 GFLOP at 256)")
    train_style.add_argument("--gram-weight", type=float, default=0.5, help="weight of the Gram (texture) loss")
    train_style.add_argument("--packages", nargs="+", metavar="PACKAGE",
                             help="only photos from these packages (e.g. scikit-image for a quick test)")
    train_style.set_defaults(func=_train_style)

    models_bench = benches.add_parser("models", help="per-frame inference of the shipped models, int8 vs naive")
    models_bench.add_argument("--frames", type=int, default=200, help="timed frames per model (default 200)")
    models_bench.add_argument("--no-keras", action="store_true", help="skip the TensorFlow float32 comparison")
    models_bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    models_bench.set_defaults(func=_bench_models)

    quantize = commands.add_parser("quantize", help="a .keras image model to LiteRT int8/dynamic/fp16 with a card")
    quantize.add_argument("model", type=Path, metavar="MODEL", help="a .keras model (image, or image + style)")
    quantize.add_argument("--mode", choices=("int8", "dynamic", "fp16"), default="int8")
    quantize.add_argument("--calibration", type=Path, metavar="DIR",
                          help="real images to calibrate with (default: the cached training crops)")
    quantize.add_argument("--size", type=int, help="input size in pixels when the model's is free (default 256 "
                          "for the style model)")
    quantize.add_argument("--out", type=Path, help="the .tflite to write (default MODEL_MODE.tflite beside it)")
    quantize.set_defaults(func=_quantize)

    evaluate = commands.add_parser("eval", help="quality of a model family on held-out data (table; --json)")
    evals = evaluate.add_subparsers(dest="eval", metavar="FAMILY", required=True)
    eval_style = evals.add_parser("style", help="style/content distance vs the teacher, temporal error, settling")
    eval_style.add_argument("--model", type=Path, help="a style .tflite (default: the shipped int8 model)")
    eval_style.add_argument("--photos", type=int, help="use only this many held-out photos")
    eval_style.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    eval_style.add_argument("--sheet", type=Path, metavar="JPG", help="also write held-out photos beside "
                            "their paintings (docs/style_sheet.jpg)")
    eval_style.set_defaults(func=_eval_style)

    devices = commands.add_parser("devices", help="list cameras, audio devices and displays")
    devices.add_argument("--json", type=Path, metavar="PATH", help="also write the list as JSON")
    devices.set_defaults(func=_devices)
    return parser


def resolve_patch(name: str) -> Path:
    """A patch file path, or a bundled patch by name."""
    path = Path(name)
    if path.exists() or path.suffix == ".toml" and path.parent != Path("."):
        return path
    bundled = bundled_patches()
    stem = path.stem if path.suffix == ".toml" else name
    if stem in bundled:
        return bundled[stem]
    return path


def bundled_patches() -> dict[str, Path]:
    import patches
    folder = Path(patches.__file__).parent
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def _check(args: argparse.Namespace) -> int:
    from engine.patch import PatchError, load_patch
    failed = 0
    for name in args.patches:
        path = resolve_patch(name)
        try:
            patch = load_patch(path)
        except PatchError as error:
            failed += 1
            for problem in error.problems:
                print(problem, file=sys.stderr)
            continue
        print(f"{path}: ok ({len(patch.nodes)} nodes, {len(patch.exposed_params())} exposed parameters, "
              f"{len(patch.scenes)} scenes)")
    return 1 if failed else 0


def _run(args: argparse.Namespace) -> int:
    from engine.graph import Engine, PatchWatcher
    from engine.realtime import tune_for_real_time
    from engine.node import EngineContext
    from engine.patch import PatchError, load_patch
    from engine.status import Console, table
    from engine.events import EventLog

    console = Console(quiet=args.quiet)
    path = resolve_patch(args.patch)
    try:
        patch = load_patch(path)
    except PatchError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        if path.name == args.patch and not path.exists():
            print(f"bundled patches: {', '.join(bundled_patches())}", file=sys.stderr)
        return 1

    from engine.osc.bridge import OscBridge, osc_config
    try:
        config = osc_config(patch, args.osc_in, args.osc_out, args.no_osc)
    except ValueError as error:
        print(f"tensorstage run: {error}", file=sys.stderr)
        return 2
    context = EngineContext(patch_name=patch.name, headless=args.headless, output_dir=args.output_dir)
    engine = Engine(patch, context, EventLog(printer=console.event))
    osc = OscBridge(engine, config)
    console.say(f"running {path} ({len(patch.nodes)} nodes)"
                + (f" for {args.duration:g} s" if args.duration else "; Ctrl-C stops"))
    signal.signal(signal.SIGTERM, lambda *_: engine.request_stop("SIGTERM"))
    watcher = None if args.no_reload else PatchWatcher(engine, load_patch)
    opening = started = time.monotonic()
    try:
        osc.start()
        engine.start()
        tune_for_real_time()
        if watcher:
            watcher.start()
        # --duration counts the show, not the opening of devices and models
        # (seconds on a loaded machine).
        started = time.monotonic()
        console.say(f"started in {started - opening:.1f} s")
        last_status = 0.0
        while not engine.stop_requested.is_set():
            engine.step(0.01)
            elapsed = time.monotonic() - started
            if elapsed - last_status >= 1.0:
                last_status = elapsed
                console.status(elapsed, engine.snapshot())
            if args.duration is not None and elapsed >= args.duration:
                engine.request_stop(f"--duration {args.duration:g} s reached")
    except KeyboardInterrupt:
        engine.request_stop("Ctrl-C")
    finally:
        if watcher:
            watcher.stop()
        engine.stop()
        osc.stop()
        console.end_status()
    elapsed = time.monotonic() - started
    snapshot = engine.snapshot()
    console.say(f"stopped after {elapsed:.1f} s ({engine.stop_reason or 'done'})")
    print(table(snapshot), file=sys.stderr)
    if args.stats_json:
        args.stats_json.parent.mkdir(parents=True, exist_ok=True)
        args.stats_json.write_text(json.dumps({"duration_s": round(elapsed, 3), "nodes": snapshot,
                                               "events": engine.events.messages()}, indent=2))
    _leave_if_portaudio_is_stuck(console)
    return 0


def _leave_if_portaudio_is_stuck(console) -> None:
    """A PortAudio stream that would not close (engine/audio/device.py) would
    hang the interpreter's exit, where sounddevice terminates PortAudio: the
    run is over and its files are written, so leave without that cleanup."""
    audio = sys.modules.get("engine.audio.device")
    if audio is not None and audio.stuck_streams:
        console.say(f"{audio.stuck_streams} PortAudio stream(s) never closed; exiting without PortAudio's cleanup")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _osc_list(args: argparse.Namespace) -> int:
    from engine.osc.address_space import address_space
    from engine.patch import PatchError, load_patch
    path = resolve_patch(args.patch)
    try:
        patch = load_patch(path)
    except PatchError as error:
        print(error, file=sys.stderr)
        return 1
    streams = tuple(patch.osc.get("streams", ("*",)))
    rows = [("address", "dir", "type", "range", "default", "unit", "description")]
    for entry in address_space(patch, streams):
        spec = entry.spec
        default = "" if spec is None else str(int(spec.default) if spec.type == "bool" else spec.default)
        rows.append((entry.address, entry.direction, entry.type_tag, entry.range_text, default,
                     spec.unit if spec else "", entry.description))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    print(f"OSC address space of {path} (in: tensorstage listens; out: tensorstage sends)")
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _bench_video(args: argparse.Namespace) -> int:
    from engine.bench.video import main as bench_video
    return bench_video(args.seconds, args.slow_ms, args.width, args.height, args.fps, args.json)


def _bench_osc(args: argparse.Namespace) -> int:
    from engine.bench.osc import main as bench_osc
    return bench_osc(args.seconds, args.rate, args.json, args.server)


def _bench_audio(args: argparse.Namespace) -> int:
    from engine.bench.audio import main as bench_audio
    return bench_audio(args.seconds, args.blocks, args.json, args.design, args.streams, args.buffer_blocks,
                       not args.normal_priority)


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
    from engine.bench.models import main as bench_models
    return bench_models(args.frames, args.json, keras=not args.no_keras)


def _quantize(args: argparse.Namespace) -> int:
    from engine.runtime.quantize import main as quantize
    return quantize(args.model, args.mode, args.out, args.calibration, args.size)


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


def _devices(args: argparse.Namespace) -> int:
    from engine.devices import describe_devices, list_devices
    found = list_devices()
    print(describe_devices(found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
