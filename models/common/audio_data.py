"""Audio data with exact labels: monophonic tunes from music21's corpus rendered
dry by FluidSynth with a General MIDI soundfont, for several instruments, with
f0 and loudness per 10 ms frame.

Tunes: O'Neill's Music of Ireland (1850), Ryan's Mammoth Collection (1883) and
Aird's Airs (1778-1803) as ABC in music21's corpus: the music is public domain;
the transcriptions ship with music21 by their encoders' permission (its
corpus/license.txt). The Essen collection is left out: its permission is for
non-commercial use only, which an Apache-2.0 model cannot honour.

f0 comes from the score (the note sounding in each frame; 0 between notes),
not from a pitch tracker, so it is exact by construction; loudness is the
rendered audio's RMS in dB per frame. Tunes are split like the images (by a hash
of the tune's id, `data.split_of`): fixed, shared, held-out tunes never trained on.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common import data

SAMPLE_RATE = 16000
HOP = 160                      # 10 ms frames
COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs")
LICENCE = "public-domain music; transcription shipped in music21's corpus with the encoder's permission"
INSTRUMENTS = {"flute": 73, "violin": 40, "trumpet": 56, "clarinet": 71, "cello": 42}
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")
# As the Debian packages state. A model that ships trains on FluidR3 renders only;
# TimGM6mb (6 MB) is for CI, where the 120 MB FluidR3 download is not worth it.
SOUNDFONT_LICENCES = {"FluidR3_GM.sf2": "MIT", "TimGM6mb.sf2": "GPL-2"}


class AudioDataError(RuntimeError):
    pass


@dataclass(frozen=True)
class Tune:
    id: str            # collection/file#X
    collection: str
    path: str
    number: str
    title: str

    @property
    def split(self) -> str:
        return data.split_of(f"music21/{self.id}")


def corpus_root() -> Path:
    try:
        import music21
    except ImportError:
        raise AudioDataError("music21 is not installed: pip install 'tensorstage[train]'") from None
    return Path(music21.__file__).parent / "corpus"


def list_tunes(collections=COLLECTIONS) -> list[Tune]:
    """Every tune in the chosen collections, read from the ABC headers only."""
    tunes = []
    root = corpus_root()
    for collection in collections:
        for path in sorted((root / collection).glob("*.abc")):
            number, title = None, ""
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("X:"):
                    number, title = line[2:].strip(), ""
                    tunes.append(None)          # placeholder, filled once the title is known
                elif line.startswith("T:") and number is not None and not title:
                    title = line[2:].strip()
                    tunes[-1] = Tune(f"{collection}/{path.name}#{number}", collection, str(path), number, title)
            tunes = [t for t in tunes if t is not None]
    return tunes


def tune_text(tune: Tune) -> str:
    text = Path(tune.path).read_text(errors="replace")
    blocks = re.split(r"(?m)^(?=X:)", text)
    for block in blocks:
        if block.startswith("X:") and block[2:].split("\n", 1)[0].strip() == tune.number:
            return block
    raise AudioDataError(f"{tune.id}: tune not found in {tune.path}")


def notes(tune: Tune, max_seconds: float = 30.0) -> list[tuple[int, float, float]]:
    """(MIDI pitch, start s, duration s) of the melody, monophonic, as written
    (repeats not expanded), at the tune's tempo (Q:, else 100 quarter notes a minute)."""
    import music21

    try:
        score = music21.converter.parse(tune_text(tune), format="abc")
    except Exception as error:  # noqa: BLE001 - music21 raises many kinds on odd ABC
        raise AudioDataError(f"{tune.id}: music21 cannot parse it ({error})") from None
    marks = score.recurse().getElementsByClass(music21.tempo.MetronomeMark)
    bpm = next((m.getQuarterBPM() for m in marks if m.getQuarterBPM()), None) or 100.0
    seconds_per_quarter = 60.0 / bpm
    melody = []
    last_end = -1.0
    for element in score.flatten().notes:
        if element.duration.isGrace or element.quarterLength <= 0:
            continue
        pitch = element.pitches[-1].midi if element.isChord else element.pitch.midi
        start = float(element.getOffsetInHierarchy(score)) * seconds_per_quarter
        duration = float(element.quarterLength) * seconds_per_quarter
        if start < last_end - 1e-6:     # keep the line monophonic
            continue
        if start >= max_seconds:
            break
        melody.append((int(pitch), start, min(duration, max_seconds - start)))
        last_end = start + duration
    if not melody:
        raise AudioDataError(f"{tune.id}: no notes")
    return melody


def midi_file(melody, program: int, velocity: int = 90) -> bytes:
    """A one-track standard MIDI file (480 ticks a quarter at 120 bpm, so one
    tick is 1/960 s) playing the melody on a General MIDI program."""
    def var(n):
        out = [n & 0x7F]
        n >>= 7
        while n:
            out.append(0x80 | (n & 0x7F))
            n >>= 7
        return bytes(reversed(out))

    events = [(0, bytes([0xC0, program]))]
    for pitch, start, duration in melody:
        on, off = round(start * 960), round((start + duration) * 960) - 1
        events += [(on, bytes([0x90, pitch, velocity])), (max(on + 1, off), bytes([0x80, pitch, 0]))]
    events.sort(key=lambda e: (e[0], e[1][0] == 0x90))   # note-offs before note-ons at one tick
    track, now = b"", 0
    for tick, message in events:
        track += var(tick - now) + message
        now = tick
    track += var(0) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def soundfont() -> Path:
    for path in SOUNDFONTS:
        if Path(path).exists():
            return Path(path)
    raise AudioDataError("no General MIDI soundfont: sudo apt-get install fluid-soundfont-gm "
                         "(or timgm6mb-soundfont, smaller)")


def render(melody, program: int, sf2: Path | None = None) -> np.ndarray:
    """Dry (no reverb, no chorus) mono float32 audio at 16 kHz."""
    import soundfile

    if shutil.which("fluidsynth") is None:
        raise AudioDataError("fluidsynth is not installed: sudo apt-get install fluidsynth")
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "tune.mid", Path(tmp) / "tune.wav"
        mid.write_bytes(midi_file(melody, program))
        result = subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6",
                                 "-r", str(SAMPLE_RATE), "-F", str(wav), str(sf2 or soundfont()), str(mid)],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0 or not wav.exists():
            raise AudioDataError(f"fluidsynth failed: {result.stderr.strip()[-300:]}")
        audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise AudioDataError(f"fluidsynth wrote {rate} Hz, not {SAMPLE_RATE}")
    return audio.mean(axis=1)


def labels(melody, frames: int) -> np.ndarray:
    """f0 in Hz per 10 ms frame from the score (frame centre), 0 where no note sounds."""
    f0 = np.zeros(frames, np.float32)
    centres = (np.arange(frames) * HOP + HOP / 2) / SAMPLE_RATE
    for pitch, start, duration in melody:
        inside = (centres >= start) & (centres < start + duration)
        f0[inside] = 440.0 * 2 ** ((pitch - 69) / 12)
    return f0


def loudness_db(audio: np.ndarray) -> np.ndarray:
    frames = len(audio) // HOP
    blocks = audio[: frames * HOP].reshape(frames, HOP).astype(np.float64)
    return (20 * np.log10(np.sqrt(np.mean(blocks ** 2, axis=1)) + 1e-7)).astype(np.float32)


def prepare(tunes: int = 60, instruments=("flute", "violin", "trumpet"), *, cache=None,
            max_seconds: float = 20.0, progress=print) -> dict:
    """Render `tunes` tunes (spread over the collections, fixed choice) for each
    instrument into the cache: one .npz per tune and instrument with audio, f0_hz,
    loudness_db; an index.csv with split and licence. Re-running skips what exists."""
    all_tunes = list_tunes()
    step = max(1, len(all_tunes) // max(1, tunes))
    chosen = all_tunes[::step][:tunes]
    out = data.cache_dir(cache) / "audio"
    out.mkdir(parents=True, exist_ok=True)
    sf2 = soundfont()
    rows, skipped = [], 0
    for n, tune in enumerate(chosen, start=1):
        try:
            melody = notes(tune, max_seconds)
        except AudioDataError as error:
            progress(f"audio data: skipped {error}")
            skipped += 1
            continue
        for instrument in instruments:
            name = re.sub(r"[^A-Za-z0-9]+", "_", f"{tune.id}_{instrument}") + ".npz"
            path = out / name
            if not path.exists():
                audio = render(melody, INSTRUMENTS[instrument], sf2)
                frames = len(audio) // HOP
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, audio=audio, f0_hz=labels(melody, frames), loudness_db=loudness_db(audio))
                os.replace(tmp, path)
            rows.append({"file": name, "tune": tune.id, "title": tune.title, "instrument": instrument,
                         "split": tune.split, "licence": LICENCE, "soundfont": sf2.name,
                         "soundfont_licence": SOUNDFONT_LICENCES.get(sf2.name, "unknown")})
        progress(f"audio data: {n}/{len(chosen)} {tune.id} ({tune.title})")
    with (out / "index.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["file"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    figures = {"tunes": len(chosen) - skipped, "skipped": skipped, "files": len(rows), "soundfont": sf2.name}
    for split in data.SPLITS:
        figures[f"{split}_files"] = sum(r["split"] == split for r in rows)
    return figures
