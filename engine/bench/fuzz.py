"""`tensorstage bench fuzz`: hostile OSC and careless patch edits against a
running engine; the show must keep its controller, write no file outside its
output folder, and keep running.

For each patch (default and style_live, copied into a show folder), a real
`tensorstage run --headless` starts with its OSC server and OSCQuery on a free
port and its heartbeat sent back here. Then, in batches:
- Hypothesis generates OSC traffic: messages to the patch's addresses, to
  patterns (long, pathological, malformed), to unknown and unicode addresses,
  with non-finite, huge and wrong-typed arguments and wrong counts; scene
  recalls with any fade time; swaps to every kind of path (output files, other
  folders, links out, SavedModels, missing files); bundles, nested and
  far-future; and random bytes;
- and mutated copies of the patch file (values replaced by any TOML value,
  lines dropped or doubled, bytes garbled) are written to the watched path.
After every batch: the engine is alive; a parameter written over OSC shows in
OSCQuery within 100 ms (else `control_lost_count`); its sinks still report
frames in the heartbeat; and no file appeared outside the output folder
(the show folder, the trap folder the swaps name, and the engine's own
working folder are compared with before). At the end Ctrl-C must stop it (`sigint_exit_s`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from engine.bench.report import print_table, write_json

CONTROL_WITHIN_S = 0.1


def free_port() -> int:
    """A UDP port free on the loopback now (the benches' engines listen there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        return udp.getsockname()[1]


class Heartbeat(threading.Thread):
    """Collects what the engine's heartbeat says (the newest value per address)."""

    def __init__(self) -> None:
        super().__init__(name="fuzz-heartbeat", daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.latest: dict[str, Any] = {}
        self.beats = 0
        self._stop = threading.Event()

    def run(self) -> None:
        from pythonosc.osc_packet import OscPacket
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                continue
            try:
                for timed in OscPacket(data).messages:
                    self.latest[timed.message.address] = timed.message.params
                    if timed.message.address == "/tensorstage/alive":
                        self.beats += 1
            except Exception:  # noqa: BLE001 - only our own engine sends here
                pass

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()


# Not the engine's: Hypothesis's own cache, Python's bytecode, the venv.
NOT_OURS = (".hypothesis", "__pycache__", ".pytest_cache", ".venv", ".git")


def _files(folder: Path, skip: Path | None = None) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(folder):
        if skip is not None and Path(root).resolve().is_relative_to(skip.resolve()):
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if d not in NOT_OURS]
        out.update(str(Path(root) / f) for f in files)
    return out


class Show:
    """A running engine on a copy of a patch, and what it must not touch."""

    def __init__(self, patch: str, root: Path, link_out: bool = False) -> None:
        from engine.patch import resolve_patch
        self.name = patch
        self.root = root / patch
        self.show = self.root / "show"
        self.output = self.root / "output"
        self.trap = self.root / "trap"          # swaps name files here; nothing may appear
        self.cwd = self.root / "cwd"            # the engine's working folder: relative writes would land here
        for folder in (self.show, self.output, self.trap, self.cwd):
            folder.mkdir(parents=True)
        from engine.params import FLOAT
        from engine.patch import load_patch
        source = resolve_patch(patch)
        self.text = source.read_text()
        # The parameter whose writes prove control: the patch's first exposed float
        # that no control stream drives (a control_map's target moves on its own).
        loaded = load_patch(source)
        driven = {str(d.options[k]).replace(".", "/") for d in loaded.nodes.values()
                  for k, o in d.node_class.options.items() if o.refers_to == "param"}
        key, spec = next((k, s) for k, s in loaded.exposed_params().items()
                         if s.type == FLOAT and s.range and k not in driven)
        self.control, self.low, self.high = f"/{key}", spec.min, spec.max
        self.path = self.show / "patch.toml"
        self.path.write_text(self.text)
        if link_out:                            # a link in the show folder that leads out of it
            (self.show / "link.tflite").symlink_to(self.trap / "outside.tflite")
        self.port = free_port()
        self.heartbeat = Heartbeat()
        self.heartbeat.start()
        self.before = _files(self.root, skip=self.output) | {str(self.path)}
        self.process: subprocess.Popen | None = None
        self.reloads = 0            # lines the engine printed about reloads (applied or rejected)
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "run", str(self.path), "--headless", "--quiet",
             "--output-dir", str(self.output), "--osc-in", f"127.0.0.1:{self.port}",
             "--osc-out", f"127.0.0.1:{self.heartbeat.port}"],
            cwd=self.cwd, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.query(self.control) is None:
            time.sleep(0.2)

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            del self.log[:-200]
            if "reload" in line:
                self.reloads += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def query(self, address: str) -> Any:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{address}?VALUE", timeout=1) as reply:
                return json.loads(reply.read()).get("VALUE", [None])[0]
        except Exception:  # noqa: BLE001 - not up yet, or gone
            return None

    def send(self, datagrams: list[bytes]) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for i, data in enumerate(datagrams):
                try:
                    udp.sendto(data, ("127.0.0.1", self.port))
                except OSError:
                    pass                        # too large for UDP: nothing was sent
                if i % 200 == 199:
                    time.sleep(0.002)           # hostile, not a flood: the OSC bench measures floods

    def control_ms(self, fraction: float) -> float | None:
        """ms until a value written to the control parameter (at `fraction` of
        its range) shows in OSCQuery; None past the limit."""
        from engine.osc.sender import encode
        value = self.low + fraction * (self.high - self.low)
        self.send([encode(self.control, value)])
        started = time.monotonic()
        while time.monotonic() - started < CONTROL_WITHIN_S:
            seen = self.query(self.control)
            if seen is not None and abs(seen - value) < 1e-6:
                return (time.monotonic() - started) * 1000
            time.sleep(0.005)
        return None

    def outside_output(self) -> list[str]:
        return sorted(_files(self.root, skip=self.output) - self.before)

    def stop(self) -> float:
        """Ctrl-C; seconds until the process was gone."""
        self.heartbeat.stop()
        if not self.alive():
            return 0.0
        sent = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        return time.monotonic() - sent


def _osc_strategies(addresses: list[str], scenes: list[str], nodes: list[str], show: Show):
    """Hypothesis strategies of datagrams (bytes)."""
    from hypothesis import strategies as st
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                       st.sampled_from([float("inf"), float("-inf"), float("nan"), 3.4e38, -3.4e38, 0.0, 1.0]))
    doubles = st.floats(allow_nan=True, allow_infinity=True)
    ints = st.integers(-2**31, 2**31 - 1)
    longs = st.integers(-2**63, 2**63 - 1)
    text = st.text(max_size=40) | st.text(min_size=1000, max_size=3000) | st.sampled_from(
        ["", "\x00", "ümlaut/✓", "{a,b", "[!", "../../etc/passwd"])
    args = st.lists(st.one_of(floats.map(lambda v: (v, "f")), doubles.map(lambda v: (v, "d")),
                              ints.map(lambda v: (v, "i")), longs.map(lambda v: (v, "h")),
                              text.map(lambda v: (v, "s")), st.binary(max_size=64).map(lambda v: (v, "b")),
                              st.booleans().map(lambda v: (v, "T" if v else "F"))), max_size=4)
    patterns = st.one_of(
        st.sampled_from(addresses),
        st.builds(lambda n, c: "/color/" + c * n + "z", st.integers(1, 80), st.sampled_from(["*", "*a", "?*", "*[a-z]"])),
        st.builds(lambda a, b: a + b, st.sampled_from(["/color/", "/", "/scene/", "/tensorstage/"]),
                  st.text(max_size=30)),
        st.sampled_from(["/*/*", "/{color,mirror}/*", "/color/[!a-z]*", "/color/{", "/" + "a" * 600,
                         "/color/" + "{a,b}" * 8, "//", "/tensorstage/swap"]),
    )
    paths = st.sampled_from([
        str(show.trap / "owned.mp4"), str(show.trap / "new" / "dir" / "owned.tflite"), str(show.output / "x.mp4"),
        "/etc/passwd", "../trap/owned.mp4", "../../owned.tflite", str(show.trap), str(show.show),
        "missing.tflite", "link.tflite", "saved_model", "x" * 2000, "", "\x00.tflite",
    ])
    swap = st.builds(lambda node, path: ("/tensorstage/swap", [(node, "s"), (path, "s")]),
                     st.sampled_from(nodes + ["nosuch", ""]), paths)
    scene = st.builds(lambda name, fade: ("/scene/recall", [(name, "s")] + fade),
                      st.sampled_from(scenes + ["nosuch", "x" * 100]),
                      st.lists(st.one_of(floats.map(lambda v: (v, "f")), doubles.map(lambda v: (v, "d")),
                                         text.map(lambda v: (v, "s"))), max_size=2))
    store = st.builds(lambda name: ("/scene/store", [(name, "s")]), st.text(min_size=1, max_size=80))
    message = st.one_of(st.tuples(patterns, args), swap, scene, store)

    def build(address: str, arguments: list) -> Any:
        builder = OscMessageBuilder(address)
        for value, tag in arguments:
            if tag in ("T", "F"):
                builder.add_arg(value)
            else:
                builder.add_arg(value, tag)
        return builder.build()

    def encode_message(item) -> bytes:
        try:
            return build(*item).dgram
        except Exception:  # noqa: BLE001 - a value the builder cannot write: send its bytes garbled
            return item[0].encode("utf-8", "replace")[:200]

    def bundle(items, when: float, nested: bool) -> bytes:
        try:
            return _bundle(items, when, nested)
        except Exception:  # noqa: BLE001 - a timetag or value the builder cannot write
            return b"#bundle\x00" + bytes(8)

    def _bundle(items, when: float, nested: bool) -> bytes:
        builder = OscBundleBuilder(when)
        for item in items:
            try:
                builder.add_content(build(*item))
            except Exception:  # noqa: BLE001
                pass
        if nested:
            inner = OscBundleBuilder(IMMEDIATELY)
            inner.add_content(build(show.control, [(0.5, "f")]))
            builder.add_content(inner.build())
        return builder.build().dgram

    # Now, past, soon, in 12 days, and in 2033 (the far future a 32-bit NTP timetag can hold).
    timetags = st.sampled_from([IMMEDIATELY, time.time() - 100, time.time() + 0.2, time.time() + 1e6, 2.0e9])
    bundles = st.builds(bundle, st.lists(message, min_size=1, max_size=5), timetags, st.booleans())
    garbage = st.binary(min_size=0, max_size=512) | st.builds(lambda b: b"/" + b, st.binary(max_size=64)) | \
        st.builds(lambda b: b"#bundle\x00" + b, st.binary(max_size=64))
    kinds = st.one_of(message.map(lambda m: ("message", encode_message(m))),
                      bundles.map(lambda b: ("bundle", b)), garbage.map(lambda g: ("garbage", g)))
    return kinds


def _patch_strategy(text: str):
    """Mutated copies of a patch's text."""
    from hypothesis import strategies as st

    lines = text.splitlines()
    toml_values = st.one_of(
        st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=False).map(repr),
        st.sampled_from(["inf", "nan", "-inf", "true", "[]", '["camera"]', "{}", "{ default = [1] }", '""',
                         '"/tmp/elsewhere.mp4"', '"{output_dir.__class__}"', '"../../x.mp4"', "1e400"]),
        st.text(max_size=20).map(json.dumps))

    def replace_value(i: int, value: str) -> str:
        out = list(lines)
        k = i % len(out)
        if "=" in out[k]:
            out[k] = out[k].split("=", 1)[0] + "= " + value
        return "\n".join(out)

    def drop(i: int) -> str:
        return "\n".join(lines[: i % len(lines)] + lines[i % len(lines) + 1:])

    def double(i: int) -> str:
        k = i % len(lines)
        return "\n".join(lines[: k + 1] + lines[k:])

    def garble(i: int, junk: bytes) -> str:
        k = i % max(1, len(text))
        return text[:k] + junk.decode("latin-1") + text[k:]

    index = st.integers(0, 10_000)
    return st.one_of(st.builds(replace_value, index, toml_values), st.builds(drop, index),
                     st.builds(double, index), st.builds(garble, index, st.binary(max_size=16)))


def fuzz_patch(patch: str, root: Path, batches: int, per_batch: int, edits: int, progress=print) -> dict:
    from hypothesis import HealthCheck, given, settings

    from engine.osc.address_space import address_space
    from engine.patch import load_patch
    from engine.swap import SWAP_OPTION

    show = Show(patch, root, link_out=True)
    loaded = load_patch(show.path)
    addresses = [a.address for a in address_space(loaded) if a.direction == "in"]
    nodes = [n for n, d in loaded.nodes.items() if SWAP_OPTION in d.node_class.swappable] + \
        [n for n in loaded.nodes][:3]
    figures = {"messages": 0, "bundles": 0, "garbage_datagrams": 0, "patch_edits": 0, "control_lost_count": 0,
               "crashes": 0, "files_outside_output": 0, "batches": 0}
    latencies: list[float] = []
    outside: set[str] = set()
    quiet = settings(max_examples=per_batch, database=None, deadline=None, derandomize=False,
                     suppress_health_check=list(HealthCheck))
    sent: list[bytes] = []
    kinds = _osc_strategies(addresses, sorted(loaded.scenes), nodes, show)

    @quiet
    @given(kinds)
    def collect(item) -> None:
        kind, data = item
        figures[{"message": "messages", "bundle": "bundles", "garbage": "garbage_datagrams"}[kind]] += 1
        sent.append(data)

    edit_settings = settings(max_examples=max(1, edits // max(1, batches)), database=None, deadline=None,
                             suppress_health_check=list(HealthCheck))

    @edit_settings
    @given(_patch_strategy(show.text))
    def edit(text: str) -> None:
        show.path.write_text(text)
        figures["patch_edits"] += 1
        time.sleep(0.6)                       # the watcher looks twice a second

    started = time.monotonic()
    try:
        for batch in range(batches):
            sent.clear()
            collect()
            show.send(sent)
            edit()
            # The good patch again; control is judged once its reload is through
            # (a reload that changes a parameter's default rightly resets its value).
            reloads = show.reloads
            show.path.write_text(show.text + f"\n# batch {batch}\n")
            deadline = time.monotonic() + 15
            while show.reloads == reloads and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            figures["batches"] += 1
            if not show.alive():
                figures["crashes"] += 1
                progress(f"bench fuzz: {patch}: the engine died; last lines:\n" + "".join(show.log[-20:]))
                show.start()
                continue
            ms = show.control_ms(0.2 + 0.6 * ((batch * 7919) % 100) / 100)      # a new value every batch
            if ms is None:
                figures["control_lost_count"] += 1
                progress(f"bench fuzz: {patch}: control lost; the engine's last lines:\n"
                         + "".join(show.log[-12:]))
            else:
                latencies.append(ms)
            outside.update(show.outside_output())
            progress(f"bench fuzz: {patch}: batch {batch + 1}/{batches}: {figures['messages']} messages, "
                     f"{figures['bundles']} bundles, {figures['garbage_datagrams']} garbage, "
                     f"{figures['patch_edits']} patch edits; control "
                     + (f"{ms:.0f} ms" if ms is not None else "LOST") + f"; {len(outside)} files outside")
        beat = dict(show.heartbeat.latest)
    finally:
        figures["sigint_exit_s"] = show.stop()
    figures["files_outside_output"] = len(outside)
    figures["control_p50_ms"] = float(sorted(latencies)[len(latencies) // 2]) if latencies else None
    figures["control_max_ms"] = max(latencies) if latencies else None
    figures["heartbeats"] = show.heartbeat.beats
    sinks = [a for a in beat if a.endswith("/fps") and any(s in a for s in ("/screen/", "/speakers/", "/window/"))]
    figures["frames_flowing"] = bool(sinks) and all((beat[a] or [0])[0] > 0 for a in sinks)
    figures["osc_ignored"] = (beat.get("/tensorstage/osc/ignored") or [None])[0]
    figures["seconds"] = time.monotonic() - started
    if outside:
        progress(f"bench fuzz: {patch}: files outside the output folder: {sorted(outside)[:5]}")
    return figures


def main(patches: list[str], batches: int, per_batch: int, edits: int, json_path: Path | None) -> int:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        print("bench fuzz generates its input with Hypothesis: pip install 'tensorstage[bench]'")
        return 1
    root = Path(tempfile.mkdtemp(prefix="tensorstage-fuzz-"))
    rows, figures = [], {}
    try:
        for patch in patches:
            result = fuzz_patch(patch, root, batches, per_batch, edits)
            rows.append({"patch": patch, **result})
            figures.update({f"{patch}_{k}": v for k, v in result.items()})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for key in ("messages", "bundles", "garbage_datagrams", "patch_edits", "control_lost_count", "crashes",
                "files_outside_output"):
        figures[key] = sum(r[key] for r in rows)
    figures["sigint_exit_max_s"] = max(r["sigint_exit_s"] for r in rows)
    print()
    print_table("bench fuzz: hostile OSC and patch edits against a running engine", rows, [
        ("patch", "patch", "{}"), ("messages", "messages", "{}"), ("bundles", "bundles", "{}"),
        ("garbage", "garbage_datagrams", "{}"), ("edits", "patch_edits", "{}"),
        ("control lost", "control_lost_count", "{}"), ("control p50 ms", "control_p50_ms", "{:.1f}"),
        ("control max ms", "control_max_ms", "{:.1f}"), ("crashes", "crashes", "{}"),
        ("files outside", "files_outside_output", "{}"), ("frames", "frames_flowing", "{}"),
        ("Ctrl-C s", "sigint_exit_s", "{:.2f}")])
    write_json(json_path, figures)
    ok = figures["control_lost_count"] == 0 and figures["crashes"] == 0 and figures["files_outside_output"] == 0
    print("bench fuzz: " + ("held: control kept, no crash, no file outside the output folder" if ok
                            else "FAILED: see the figures above"))
    return 0 if ok else 1
