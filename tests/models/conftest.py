"""Shared by the model families' tests: a few tunes rendered by FluidSynth into a
temporary data cache (about 20 s, once per test session)."""
import shutil

import pytest

from tests.conftest import require


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    pytest.importorskip("music21")
    require(shutil.which("fluidsynth") is not None, "fluidsynth (apt install fluidsynth)")
    from models.common import audio_data
    cache = tmp_path_factory.mktemp("rendered")
    figures = audio_data.prepare(24, ("violin", "flute"), cache=cache, max_seconds=4.0, progress=lambda *_: None)
    assert figures["train_files"] >= 4 and figures["test_files"] >= 2 and figures["validation_files"] >= 2
    return cache
