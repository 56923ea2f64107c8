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
import threading
import time
from pathlib import Path

from engine import __version__


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
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
    run.add_argument("--midi-learn", metavar="TARGET",
                     help="map the first MIDI control moved onto TARGET (node.param or scene:NAME) and save it "
                          "in the patch (as /NODE/learn TARGET to a midi node)")
    run.add_argument("--kiosk", action="store_true",
                     help="an installation's window: fullscreen, no cursor, no screen blanking, quit keys and "
                          "the close button ignored (stop: type quit in the window within 3 s, or a signal)")
    run.add_argument("--supervise", action="store_true",
                     help="run under the engine's own supervisor: restarted when it fails or hangs "
                          "(for machines without systemd)")
    run.add_argument("--state-dir", type=Path, metavar="DIR",
                     help="logs, crash reports and the run record (default: $TENSORSTAGE_STATE_DIR, "
                          "else ~/.local/state/tensorstage)")
    run.set_defaults(func=_run)

    osc = commands.add_parser("osc", help="the OSC address space of a patch")
    osc_commands = osc.add_subparsers(dest="osc_command", metavar="WHAT", required=True)
    osc_list = osc_commands.add_parser("list", help="every address a patch answers and sends")
    osc_list.add_argument("patch", nargs="?", default="default")
    osc_list.set_defaults(func=_osc_list)

    from engine.ops.commands import register as register_installation
    register_installation(commands)

    check = commands.add_parser("check", help="validate patch files without running them")
    check.add_argument("patches", nargs="+", metavar="PATCH")
    check.set_defaults(func=_check)

    cli = Commands(commands)
    benches = cli.group("bench", "measure speed and latency (prints a table; --json writes it)")
    video = benches.add_parser("video", help="glass-to-glass latency from pixels of a real window, and fps")
    video.add_argument("--seconds", type=float, default=30.0, help="length of each scenario (default 30)")
    video.add_argument("--slow-ms", type=float, default=50.0, help="time the slow node spends per frame")
    video.add_argument("--width", type=int, default=640)
    video.add_argument("--height", type=int, default=480)
    video.add_argument("--fps", type=float, default=30.0, help="rate of the test pattern")
    video.add_argument("--ndi-seconds", type=float, default=8.0,
                       help="length of each NDI row (720p, 1080p; 0 leaves them out; needs cyndilib)")
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
    fuzz = benches.add_parser("fuzz", help="hostile OSC and mutated patch files against a running engine")
    fuzz.add_argument("--patches", nargs="+", default=["default", "style_live"], metavar="PATCH",
                      help="patches to fuzz (default: default style_live)")
    fuzz.add_argument("--batches", type=int, default=4, help="batches per patch (default 4)")
    fuzz.add_argument("--per-batch", type=int, default=2500, help="OSC datagrams per batch (default 2500)")
    fuzz.add_argument("--edits", type=int, default=12, help="mutated patch files per patch (default 12)")
    fuzz.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    fuzz.set_defaults(func=_bench_fuzz)

    soak = benches.add_parser("soak", help="hours of a patch under OSC traffic and live edits: memory, files, "
                                           "threads, fps, underflows; --faults kills parts and times recovery")
    soak.add_argument("--minutes", type=float, default=1.0, help="length of the run (default 1)")
    soak.add_argument("--patch", type=Path, help="a patch of yours instead of the bench's own (stream, style, tone)")
    soak.add_argument("--faults", action="store_true",
                      help="kill the audio process, the OSC process and the engine, restart the display server "
                           "and cut the camera's stream, one at a time, and time each recovery")
    soak.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    soak.set_defaults(func=_bench_soak)

    learn = benches.add_parser("learn", help="learned mappings: training time for 500 examples and cost per frame")
    learn.add_argument("--no-keras", action="store_true", help="skip the comparison with the same network in Keras")
    learn.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    learn.set_defaults(func=_bench_learn)

    for provider in command_providers():
        provider(cli)

    devices = commands.add_parser("devices", help="list cameras, audio devices and displays")
    devices.add_argument("--json", type=Path, metavar="PATH", help="also write the list as JSON")
    devices.set_defaults(func=_devices)
    return parser


class Commands:
    """Where command providers add their commands: the engine's own, and those
    of other packages found through the entry point group `tensorstage.commands`
    (the model families' `data`, `train`, `eval`, `quantize`, `bench models`)."""

    def __init__(self, subparsers: argparse._SubParsersAction) -> None:
        self._root = subparsers
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def group(self, name: str, help: str = "") -> argparse._SubParsersAction:
        """The subcommands of `tensorstage NAME WHAT`, made on first use."""
        if name not in self._groups:
            parser = self._root.add_parser(name, help=help)
            self._groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="WHAT", required=True)
        return self._groups[name]

    def command(self, name: str, help: str) -> argparse.ArgumentParser:
        return self._root.add_parser(name, help=help)


def command_providers() -> list:
    """`register(cli)` functions of installed packages (entry points, cheap to
    import: they must not import TensorFlow)."""
    from importlib.metadata import entry_points
    providers = []
    for entry in sorted(entry_points(group="tensorstage.commands"), key=lambda e: e.name):
        try:
            providers.append(entry.load())
        except Exception as error:  # noqa: BLE001 - a broken plug-in must not take the command away
            print(f"tensorstage: commands from {entry.value} not loaded: {type(error).__name__}: {error}",
                  file=sys.stderr)
    return providers


def _check(args: argparse.Namespace) -> int:
    from engine.patch import PatchError, load_patch, resolve_patch
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
        _say_plugin_problems()
        print(f"{path}: ok ({len(patch.nodes)} nodes, {len(patch.exposed_params())} exposed parameters, "
              f"{len(patch.scenes)} scenes)")
    return 1 if failed else 0


def _say_plugin_problems() -> None:
    from engine.node import discover
    for problem in getattr(discover, "problems", []):
        print(f"tensorstage: {problem}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    early: list[str] = []        # a signal while the engine's modules load: heard once it exists
    for number, name in ((signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")):
        signal.signal(number, lambda *_, name=name: early.append(name))
    import logging

    from engine.ops.logs import FileLog
    from engine.ops.state import state_dir
    from engine.patch import resolve_patch
    from engine.status import Console

    console = Console(quiet=args.quiet)
    path = resolve_patch(args.patch)
    folder = state_dir(args.state_dir)
    if args.supervise:
        return _supervise(args, console, path, folder)
    # Files are named by the patch file (two patches keep their own logs).
    log_file = FileLog(folder, path.stem)
    try:
        return _run_logged(args, early, console, path, folder, log_file)
    except BaseException:
        logging.getLogger("tensorstage").exception("the run ended with an error")
        raise
    finally:
        log_file.close()
        console.close()


def _supervise(args, console, path, folder) -> int:
    from engine.ops.logs import FileLog
    from engine.ops.supervisor import supervise
    log_file = FileLog(folder, f"{path.stem}-supervisor")
    command = [sys.executable, "-m", "engine", *[a for a in args.argv if a != "--supervise"]]
    try:
        return supervise(command)
    finally:
        log_file.close()
        console.close()


def _run_logged(args, early, console, path, folder, log_file) -> int:
    import logging

    from engine.events import EventLog
    from engine.graph import Engine, PatchWatcher
    from engine.node import EngineContext
    from engine.ops.crash import CrashReporter
    from engine.ops.logs import DEFAULT_FILES, DEFAULT_MAX_MB
    from engine.ops.watchdog import STUCK_S, Watchdog
    from engine.ops.state import RunRecord
    from engine.patch import PatchError, bundled_patches, load_patch
    from engine.realtime import tune_for_real_time
    from engine.status import table

    try:
        patch = load_patch(path)
    except PatchError as error:
        for problem in error.problems:
            console.say(problem, logging.ERROR)
        if path.name == args.patch and not path.exists():
            console.say(f"bundled patches: {', '.join(bundled_patches())}", logging.ERROR)
        return 1
    log_file.limit(patch.show.get("log_max_mb", DEFAULT_MAX_MB), patch.show.get("log_files", DEFAULT_FILES))

    _say_plugin_problems()
    from engine.osc.bridge import OscBridge, osc_config
    try:
        config = osc_config(patch, args.osc_in, args.osc_out, args.no_osc)
    except ValueError as error:
        console.say(f"tensorstage run: {error}", logging.ERROR)
        return 2
    record = RunRecord(folder, path.stem)
    context = EngineContext(patch_name=patch.name, headless=args.headless, output_dir=args.output_dir,
                            kiosk=args.kiosk or bool(patch.show.get("kiosk", False)), show=patch.show)
    engine = Engine(patch, context, EventLog(printer=console.event))
    crashes = CrashReporter(folder, path.stem, str(path), last_status=lambda: {
        "nodes": engine.snapshot(), "status": engine.status(), "events": engine.events.messages()[-20:]})
    crashes.install()
    previous = record.started(str(path))
    if previous.get("last_end") and not previous["last_end"].get("clean", True):
        console.say(f"the previous run {previous['last_end']['reason']}; restarts after a failure so far: "
                    f"{previous.get('unclean_ends', 0)}", logging.WARNING)
    osc = OscBridge(engine, config, restarts=record.restarts)
    scheduler = None
    if patch.schedule:
        from engine.ops.schedule import Scheduler

        def recall(scene: str) -> None:
            engine.store.recall(scene)
            osc.scene_recalled(scene, "by the schedule")
        scheduler = osc.scheduler = Scheduler(engine, recall)
        engine.commands["schedule"] = scheduler.command
    watchdog = Watchdog(lambda: engine.stuck(STUCK_S) + (
        [] if osc.server is None or osc.server.alive() else ["the OSC server's thread ended"]))
    console.say(f"running {path} ({len(patch.nodes)} nodes)"
                + (f" for {args.duration:g} s" if args.duration else "; Ctrl-C stops")
                + f"; log: {log_file.path}")

    def before_leaving(why: str, clean: bool) -> None:
        record.ended(why, clean)
        log_file.close()
    _stop_on_signals(engine, console, before_leaving)
    if early:
        engine.request_stop(early[0])
    watcher = None if args.no_reload else PatchWatcher(engine, load_patch)
    opening = started = time.monotonic()
    ended_by: BaseException | None = None
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
        if scheduler:
            scheduler.start()
        if args.midi_learn:
            midi_nodes = [name for name, runner in engine.runners.items() if runner.decl.type == "midi"]
            for name in midi_nodes:
                engine.command(name, "learn", (args.midi_learn,))
            if not midi_nodes:
                console.say("--midi-learn: this patch has no midi node to learn with")
        watchdog.ready(f"playing {patch.name}")
        last_status = 0.0
        while not engine.stop_requested.is_set():
            engine.step(0.01)
            watchdog.tick(lambda: _one_line(engine))
            elapsed = time.monotonic() - started
            if elapsed - last_status >= 1.0:
                last_status = elapsed
                console.status(elapsed, engine.snapshot())
                if scheduler:
                    scheduler.tick()
            if args.duration is not None and elapsed >= args.duration:
                engine.request_stop(f"--duration {args.duration:g} s reached")
    except KeyboardInterrupt:
        engine.request_stop("Ctrl-C")
    except BaseException as error:
        ended_by = error
        crashes.write("the engine's main loop died", type(error), error, error.__traceback__)
        raise
    finally:
        watchdog.stopping(engine.stop_reason or "stopping")
        if watcher:
            watcher.stop()
        # The show's figures as it ended (rates over its last second), before stopping.
        elapsed = time.monotonic() - started
        snapshot, status = engine.snapshot(), engine.status()
        engine.stop()
        osc.stop()
        console.end_status()
        crashes.uninstall()
        record.ended(engine.stop_reason or "done" if ended_by is None
                     else f"died: {type(ended_by).__name__}: {ended_by}", clean=ended_by is None)
    console.say(f"stopped after {elapsed:.1f} s ({engine.stop_reason or 'done'})")
    print(table(snapshot), file=sys.stderr)
    if args.stats_json:
        args.stats_json.parent.mkdir(parents=True, exist_ok=True)
        args.stats_json.write_text(json.dumps({"duration_s": round(elapsed, 3), "nodes": snapshot,
                                               "status": status,
                                               "events": engine.events.messages()}, indent=2))
    _leave_if_portaudio_is_stuck(console, log_file)
    return 0


def _one_line(engine) -> str:
    """The show in a line, for `systemctl status`."""
    from engine.ops.health import sink_names
    snapshot = engine.snapshot()
    return f"{engine.patch.name}: " + ", ".join(f"{name} {snapshot[name]['fps']:.1f} fps"
                                                 for name in sink_names(engine) if name in snapshot)


EXIT_WITHIN_S = 3.0


def _stop_on_signals(engine, console, before_leaving) -> None:
    """Ctrl-C and SIGTERM ask the main loop to stop (no exception thrown into
    whatever the main thread was doing); the run then exits within
    EXIT_WITHIN_S: past it, or at a second signal, it leaves at once (the
    nodes have had their chance to close their files)."""
    names = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

    def leave_now(why: str) -> None:
        closed = engine.stopped.is_set()
        console.say(f"{why}; leaving now" + ("" if closed else " (the nodes had not all closed)"))
        before_leaving(why, clean=closed)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if closed else 130)

    def on_signal(number: int, _frame: object) -> None:
        if engine.stop_requested.is_set() and engine.stop_reason in names.values():
            leave_now(f"{names[number]} again")
        engine.request_stop(names[number])
        timer = threading.Timer(EXIT_WITHIN_S, leave_now, args=(f"still stopping after {EXIT_WITHIN_S:g} s",))
        timer.daemon = True
        timer.start()

    for number in names:
        signal.signal(number, on_signal)


def _leave_if_portaudio_is_stuck(console, log_file) -> None:
    """A PortAudio stream that would not close (engine/audio/device.py) would
    hang the interpreter's exit, where sounddevice terminates PortAudio: the
    run is over and its files are written, so leave without that cleanup."""
    audio = sys.modules.get("engine.audio.device")
    if audio is not None and audio.stuck_streams:
        console.say(f"{audio.stuck_streams} PortAudio stream(s) never closed; exiting without PortAudio's cleanup")
        log_file.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _osc_list(args: argparse.Namespace) -> int:
    from engine.osc.address_space import address_space
    from engine.patch import PatchError, load_patch, resolve_patch
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
    print(f"OSC address space of engine {patch.name!r}, {path} (in: tensorstage listens; out: tensorstage sends)")
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _bench_video(args: argparse.Namespace) -> int:
    from engine.bench.video import main as bench_video
    return bench_video(args.seconds, args.slow_ms, args.width, args.height, args.fps, args.json, args.ndi_seconds)


def _bench_osc(args: argparse.Namespace) -> int:
    from engine.bench.osc import main as bench_osc
    return bench_osc(args.seconds, args.rate, args.json, args.server)


def _bench_fuzz(args: argparse.Namespace) -> int:
    from engine.bench.fuzz import main as bench_fuzz
    return bench_fuzz(args.patches, args.batches, args.per_batch, args.edits, args.json)


def _bench_soak(args: argparse.Namespace) -> int:
    from engine.bench.soak import main as bench_soak
    return bench_soak(args.minutes, args.patch, args.faults, args.json)


def _bench_learn(args: argparse.Namespace) -> int:
    from engine.bench.learn import main as bench_learn
    return bench_learn(args.json, keras=not args.no_keras)


def _bench_audio(args: argparse.Namespace) -> int:
    from engine.bench.audio import main as bench_audio
    return bench_audio(args.seconds, args.blocks, args.json, args.design, args.streams, args.buffer_blocks,
                       not args.normal_priority)


def _devices(args: argparse.Namespace) -> int:
    from engine.devices import describe_devices, list_devices
    found = list_devices()
    print(describe_devices(found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
