"""Tunes rendered by FluidSynth carry exact f0 labels from the score."""

import shutil

import numpy as np
import pytest

pytest.importorskip("music21")

from engine.audio.features import yin  # noqa: E402
from models.common import audio_data, data  # noqa: E402
from tests.conftest import require  # noqa: E402


def test_tunes_are_listed_with_a_fixed_split_and_no_essen():
    tunes = audio_data.list_tunes()
    assert len(tunes) > 4000
    assert {t.collection for t in tunes} == set(audio_data.COLLECTIONS)
    assert all(t.split == data.split_of(f"music21/{t.id}") for t in tunes[:200])
    assert {t.split for t in tunes} == set(data.SPLITS)
    assert tunes[0].title == "The Enchanted Valley"


def test_midi_timing_and_labels_follow_the_score():
    melody = [(69, 0.0, 0.5), (81, 0.5, 0.25)]
    f0 = audio_data.labels(melody, 100)
    assert np.allclose(f0[:50], 440.0) and np.allclose(f0[50:75], 880.0) and np.all(f0[75:] == 0)
    midi = audio_data.midi_file(melody, program=73)
    assert midi.startswith(b"MThd") and b"\xc0\x49" in midi          # program change to flute


def test_a_rendered_slow_air_matches_its_labels_in_pitch_and_loudness():
    require(shutil.which("fluidsynth") is not None, "Debian package fluidsynth")
    require(any(p for p in audio_data.SOUNDFONTS if __import__("os").path.exists(p)),
            "a General MIDI soundfont (timgm6mb-soundfont)")
    tune = audio_data.list_tunes()[0]                   # "The Enchanted Valley", very slow
    melody = audio_data.notes(tune, max_seconds=12.0)
    audio = audio_data.render(melody, audio_data.INSTRUMENTS["flute"])
    f0 = audio_data.labels(melody, len(audio) // audio_data.HOP)
    padded = np.pad(audio, (512, 512))
    estimate = np.array([yin(padded[i * 160 + 80:i * 160 + 1104], 16000, fmin=100, fmax=2000)[0]
                         for i in range(len(f0))])
    both = (estimate > 0) & (f0 > 0)
    cents = 1200 * np.log2(estimate[both] / f0[both])
    assert both.sum() > 500
    assert abs(np.median(cents)) < 10                   # the labels are the notes that sound
    assert np.mean(np.abs(cents) < 50) > 0.7            # off only at note changes and octave slips
    loud = audio_data.loudness_db(audio)
    assert loud[f0[:len(loud)] > 0].mean() > loud[-20:].mean() + 20  # notes are loud, the tail silent
