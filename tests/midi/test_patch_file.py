from engine.midi.patch_file import add_entry
from engine.patch import load_patch

PATCH = """# My show.
[patch]
name = "show"

# The knobs on the desk.
[nodes.knobs]
type = "midi"
device = "nano"   # the Korg
map = [
  { cc = 16, param = "tone.frequency" },   # the big one
]

# A tone.
[nodes.tone]
type = "tone"
"""


def test_learn_adds_the_entry_replaces_the_old_one_for_that_target_and_keeps_the_comments(tmp_path):
    path = tmp_path / "show.toml"
    path.write_text(PATCH)
    path.chmod(0o644)
    add_entry(path, "knobs", {"cc": 21, "channel": 1, "param": "tone.level_db"})
    add_entry(path, "knobs", {"cc": 22, "channel": 1, "param": "tone.frequency"})
    text = path.read_text()
    assert "# The knobs on the desk." in text and "# the Korg" in text and "# A tone." in text
    entries = load_patch(path).nodes["knobs"].options["map"]
    assert [e.get("cc") for e in entries] == [21, 22]                # cc 16 gave way to cc 22
    assert {e["param"] for e in entries} == {"tone.level_db", "tone.frequency"}
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_node_without_a_map_gets_one(tmp_path):
    path = tmp_path / "show.toml"
    path.write_text(PATCH.replace('map = [\n  { cc = 16, param = "tone.frequency" },   # the big one\n]\n', ""))
    add_entry(path, "knobs", {"note": 36, "channel": 10, "scene": "calm"})
    assert load_patch(path).nodes["knobs"].options["map"] == [{"note": 36, "channel": 10, "scene": "calm"}]
