"""The committed manifest and split, licences, and cached crops."""

import collections

import numpy as np
import pytest

from models.common import data


def test_the_committed_split_is_by_group_and_held_out_files_are_in_no_training_list():
    entries = data.read_manifest()
    assert entries, "the manifest is empty"
    groups = collections.defaultdict(set)
    for e in entries:
        groups[e.group].add(e.split)
        assert e.split == data.split_of(e.group), f"{e.id}: split differs from the rule"
    assert all(len(s) == 1 for s in groups.values()), "a group is split across train and test"
    held_out = {e.id for e in entries if e.split == "test"}
    for split in ("train", "validation"):
        chosen = {e.id for e in data.select(entries, split=split, available_only=False)}
        assert not chosen & held_out
    assert len(held_out) >= 5
    trainable_photos = data.select(entries, kind="photo", split="train", trainable_only=True,
                                   available_only=False)
    assert all(e.licence in data.TRAINABLE_LICENCES for e in trainable_photos)


def test_every_entry_records_package_and_a_known_licence():
    for e in data.read_manifest():
        assert e.package and e.licence != "unknown", e.id


def test_licences_come_from_the_most_specific_copyright_paragraph(tmp_path):
    copyright = tmp_path / "copyright"
    copyright.write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: Apache-2.0\n\n"
        "Files: data/*\nCopyright: other\nLicense: BSD-3-Clause\n\n"
        "Files: 16.04/sunset.jpg\n 16.04/dune.jpg\nCopyright: x\nLicense: CC-BY-4.0\n text\n")
    pairs = data.debian_licences("x", copyright)
    assert data.licence_for("x", "samples/data/a.jpg", pairs) == "Apache-2.0"
    assert data.licence_for("x", "data/a.jpg", pairs) == "BSD-3-Clause"
    assert data.licence_for("x", "dune.jpg", pairs) == "CC-BY-4.0"       # installed flat


def test_a_broken_manifest_names_the_file_and_line(tmp_path):
    bad = tmp_path / "manifest.csv"
    bad.write_text(",".join(data.FIELDS) + "\na,b,c,photo,CC0-1.0,g,training\n")
    with pytest.raises(data.DataError, match=r"manifest.csv: line 2: split 'training'"):
        data.read_manifest(bad)


def test_prepare_caches_deterministic_crops_of_the_installed_photos(tmp_path):
    pytest.importorskip("skimage")
    lines = []
    figures = data.prepare(sizes=(64,), crops_per_image=2, cache=tmp_path / "a",
                           packages=["scikit-image"], progress=lines.append)
    again = data.prepare(sizes=(64,), crops_per_image=2, cache=tmp_path / "b",
                         packages=["scikit-image"], progress=lambda _: None)
    assert figures["photos"] == 5 and lines and again == figures      # the same crops, the same counts
    total = 0
    for split in data.SPLITS:
        a = data.load_crops(split, 64, tmp_path / "a")
        assert a.shape[1:] == (64, 64, 3) and a.dtype == np.uint8
        assert np.array_equal(a, data.load_crops(split, 64, tmp_path / "b"))
        total += len(a)
    assert total == 10 == sum(figures[f"{s}_64_crops"] for s in data.SPLITS)
    with pytest.raises(data.DataError, match="run `tensorstage data prepare --sizes 96`"):
        data.load_crops("train", 96, tmp_path / "a")
