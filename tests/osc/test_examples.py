"""Every address the Pd, Max and TouchDesigner examples use exists in the patch
they target, as `tensorstage osc list` prints it."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "patches" / "examples"


@pytest.fixture(scope="module")
def listed() -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "engine", "osc", "list", "default"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.startswith("/")]
    return {row[0]: row[1] for row in rows}


def pd_addresses(path: Path) -> tuple[set[str], set[str]]:
    """(sent, received): oscformat objects, and route trees after oscparse."""
    objects, links = [], []
    for line in path.read_text().split(";\n"):
        parts = line.strip().split(" ")
        if parts[:2] == ["#X", "connect"]:
            links.append(tuple(int(p) for p in parts[2:6]))
        elif parts[0] == "#X" and parts[1] in ("obj", "msg", "text", "floatatom", "symbolatom"):
            objects.append(parts[4:] if parts[1] == "obj" else [])
    sent = {"/" + "/".join(o[1:]) for o in objects if o and o[0] == "oscformat"}
    received = set()
    for index, o in enumerate(objects):
        if o[:1] == ["route"] and not any(objects[s][:1] == ["route"] for s, _, d, _ in links if d == index):
            for s, outlet, d, _ in links:
                if s == index and objects[d][:1] == ["route"]:
                    received |= {f"/{o[1 + outlet]}/{name}" for name in objects[d][1:]}
    return sent, received


def test_pd_example(listed):
    sent, received = pd_addresses(EXAMPLES / "pd" / "tensorstage-default.pd")
    assert {"/color/saturation", "/screen/blackout", "/scene/recall"} <= sent
    assert {"/analysis/motion", "/tensorstage/alive"} <= received
    assert {a: listed.get(a) for a in sent} == {a: "in" for a in sent}
    assert {a: listed.get(a) for a in received} == {a: "out" for a in received}


def test_max_example(listed):
    patcher = json.loads((EXAMPLES / "max" / "tensorstage-default.maxpat").read_text())["patcher"]
    texts = [b["box"].get("text", "") for b in patcher["boxes"]]
    messages = [b["box"]["text"] for b in patcher["boxes"] if b["box"]["maxclass"] == "message"]
    sent = {t.split()[0] for t in messages if t.startswith("/")}
    received = {word for t in texts if t.startswith("route ") for word in t.split()[1:]}
    assert "/color/saturation" in sent and "/analysis/motion" in received
    assert {a: listed.get(a) for a in sent} == {a: "in" for a in sent}
    assert {a: listed.get(a) for a in received} == {a: "out" for a in received}
    assert "udpsend 127.0.0.1 9000" in texts and "udpreceive 9001" in texts


def test_touchdesigner_guide(listed):
    text = (EXAMPLES / "touchdesigner.md").read_text()
    used = set(re.findall(r"[`'](/[a-z_]+(?:/[a-z_]+)+)[`']", text)) - {"/analysis/*"}
    assert {"/color/saturation", "/analysis/motion", "/scene/recall", "/tensorstage/alive"} <= used
    assert sorted(a for a in used if a not in listed) == []


def test_style_live_guide():
    out = subprocess.run([sys.executable, "-m", "engine", "osc", "list", "style_live"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    listed = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:] if line.startswith("/")}
    text = (EXAMPLES / "style_live.md").read_text()
    used = set(re.findall(r"`(/[a-z_]+(?:/[a-z_0-9]+)+)`", text))
    assert {"/style/style1", "/style/strength", "/sound/beat_phase", "/tensorstage/swap"} <= used
    assert sorted(a for a in used if a not in listed) == []
