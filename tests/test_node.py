"""Node types are discovered: the engine's own packages are scanned, and
another package adds node types through the entry point group
`tensorstage.nodes`, without a line of engine/ changing."""

import subprocess
import sys
import textwrap
from pathlib import Path

import engine.node as node_module

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
"""A node type from outside the engine: a control stream, doubled."""
from engine.node import Node, Port, register
from engine.packet import CONTROL


@register
class DoubleNode(Node):
    type_name = "plugin_double"
    description = "doubles a control value (a test plug-in)"
    inputs = (Port("value", CONTROL),)
    outputs = (Port("value", CONTROL),)

    def process(self, inputs):
        return {"value": inputs["value"].derive(2 * inputs["value"].value)}
'''


def make_plugin(folder: Path, module: str = "tensorstage_plugin_nodes", body: str = PLUGIN) -> Path:
    """An installed-looking distribution: the module and its dist-info with the entry point."""
    (folder / f"{module}.py").write_text(body)
    info = folder / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[tensorstage.nodes]\n{module} = {module}\n")
    return folder


def test_every_module_of_the_node_packages_registers_its_types():
    types = node_module.node_types()
    for package in node_module.NODE_PACKAGES:
        folder = ROOT / Path(*package.split("."))
        for module in folder.glob("*.py"):
            if module.stem != "__init__":
                assert f"{package}.{module.stem}" in sys.modules, module
    assert {"camera", "style", "image_model", "window", "speakers", "control_map"} <= set(types)


def test_a_package_adds_a_node_type_through_an_entry_point(tmp_path):
    make_plugin(tmp_path)
    patch = tmp_path / "double.toml"
    patch.write_text(textwrap.dedent("""
        [nodes.pattern]
        type = "test_pattern"

        [nodes.analysis]
        type = "video_analysis"
        inputs.video = "pattern.video"

        [nodes.twice]
        type = "plugin_double"
        inputs.value = "analysis.motion"
    """))
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": ""}
    check = [sys.executable, "-c", f"from engine.cli import main; raise SystemExit(main(['check', '{patch}']))"]
    done = subprocess.run(check, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and "ok (3 nodes" in done.stdout, done.stderr
    # Without the plug-in installed, the same patch names the unknown type.
    done = subprocess.run(check, capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)},
                          cwd=ROOT, timeout=60)
    assert done.returncode == 1 and "unknown node type 'plugin_double'" in done.stderr, done.stderr
    listing = [sys.executable, "-c", "from engine.harness import NodeHarness; from engine.packet import Packet\n"
               "with NodeHarness('plugin_double') as n: print(n.feed(value=Packet(21.0, 1))['value'].value)"]
    done = subprocess.run(listing, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.stdout.strip() == "42.0", done.stderr


def test_a_broken_plugin_is_named_and_the_engine_types_still_load(tmp_path):
    make_plugin(tmp_path, "tensorstage_broken_nodes", "raise RuntimeError('half-installed')\n")
    code = ("import engine.node as n; types = n.node_types(); print(len(types) > 10); "
            "print(n.discover.problems)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": ""}, cwd=ROOT, timeout=60)
    lines = done.stdout.splitlines()
    assert lines[0] == "True", done.stderr
    assert "tensorstage_broken_nodes" in lines[1] and "RuntimeError: half-installed" in lines[1]


def test_a_command_for_later_waits_for_its_time_and_the_rest_arrive_in_order():
    from engine.clock import now_us
    node = node_module.Node("n", {}, None)
    node.post_command("first", ())
    node.post_command("on_the_bar", (1.0,), at_us=now_us() + 60_000_000)
    node.post_command("second", (2.0,))
    assert node.take_commands() == [("first", ()), ("second", (2.0,))]
    assert node.take_commands() == []                       # still waiting
    node.post_command("due", (), at_us=now_us() - 1)
    assert node.take_commands() == [("due", ())]
