"""`tensorstage eval timbre`: the shipped timbre model on held-out tunes (the
test split, never trained on), each instrument played by its own renderings'
f0 (the score's) and loudness, against:

- a no-network baseline: the same synthesizer driven by the harmonic
  amplitudes and noise gains looked up in a table of means over the training
  split, per instrument, by MIDI pitch and 3 dB of loudness (nearest filled
  cell when one is empty);
- the measured controls (keys `floor_*`, the name it had while the network
  only regressed on such controls): the synthesizer driven by the controls
  measured from the held-out rendering itself. Not a floor: the spectral
  training stage beats them (the measured noise is too loud).

Figures per instrument: multi-scale spectral distance to the rendering (DDSP's,
FFT sizes 64..2048) of the model, the baseline and the floor, and the model's
ratio to the baseline (target <= 0.8), and what two noise draws of the floor
differ by (the spectral distance compares noise bin by bin, so the random
draw alone costs most of it); the same with a log-mel distance (the spectral
envelope over time, blind to the noise's draw). Over all instruments: the
output's f0 read by the engine's YIN every 5 ms, each reading against the
score's f0 at the moment it describes (`measured_pitch`; median cents, share
of voiced readings off by more than 50 cents; also away from note changes,
where a 29 ms window straddles two notes), and the output's loudness against the input's (mean absolute dB
over frames louder than -50 dB).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from models.timbre import analysis

LOUDNESS_STEP_DB = 3.0
SHIPPED = Path(__file__).resolve().parent / "timbre.tflite"


class LookupTable:
    """Mean harmonic amplitudes and noise gains by (instrument, MIDI pitch, loudness bin)."""

    def __init__(self, tunes) -> None:
        self.instruments = tunes.instruments
        per_frame = np.repeat(tunes.instrument, np.diff(tunes.starts))
        pitch = np.rint(69 + 12 * np.log2(np.maximum(tunes.f0_held, 1.0) / 440)).astype(int)
        loud = np.floor(tunes.loudness_db / LOUDNESS_STEP_DB).astype(int)
        harmonics = np.nan_to_num(tunes.harmonics)
        self.cells: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for i in range(len(self.instruments)):
            mine = per_frame == i
            keys = np.stack([pitch[mine], loud[mine]], 1)
            unique, inverse = np.unique(keys, axis=0, return_inverse=True)
            inverse = inverse.ravel()
            counts = np.bincount(inverse)[:, None]
            h = np.zeros((len(unique), analysis.HARMONICS))
            n = np.zeros((len(unique), analysis.BANDS))
            np.add.at(h, inverse, harmonics[mine])
            np.add.at(n, inverse, tunes.noise[mine])
            self.cells[i] = (unique, h / counts, n / counts)

    def controls(self, instrument: int, f0_held: np.ndarray, loudness_db: np.ndarray):
        keys, harmonics, noise = self.cells[instrument]
        pitch = np.rint(69 + 12 * np.log2(np.maximum(f0_held, 1.0) / 440))
        loud = np.floor(loudness_db / LOUDNESS_STEP_DB)
        # Nearest filled cell: a semitone counts as much as 3 dB.
        distance = np.abs(pitch[:, None] - keys[None, :, 0]) * 2 + np.abs(loud[:, None] - keys[None, :, 1])
        best = np.argmin(distance, axis=1)
        return analysis.controls_of(harmonics[best], noise[best])


def model_controls(model_path: Path, f0_held, loudness_db, weights) -> np.ndarray:
    """The LiteRT step model over a sequence, frame by frame as the node runs it."""
    from engine.runtime.sequence import SequenceModel
    from models.timbre import network
    model = SequenceModel(model_path)
    x = network.scale_inputs(f0_held, loudness_db, weights)
    return np.concatenate([model.step(row) for row in x])


def measured_pitch(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The output's pitch as a listener would check it: the engine's YIN read
    every 5 ms on the live tracker's frame (two periods of 70 Hz), each reading
    placed at the moment it describes (the middle of the samples its lag
    compared), without the live tracker's causal hold and jump confirmation,
    which by design repeat the last pitch for a frame or two.

    Returns (frame index of that moment, f0 Hz, voiced) per reading."""
    from engine.audio import features
    from engine.audio.tracker import PitchTracker
    tracker = PitchTracker(analysis.RATE)
    length, hop, rate = tracker.frame, tracker.hop, analysis.RATE
    tau_max = int(rate / tracker.fmin)
    padded = np.concatenate([np.zeros(length, np.float32), np.asarray(audio, np.float32)])
    moments, f0s, voiced = [], [], []
    for end in range(length + hop, len(padded) + 1, hop):
        frame = padded[end - length:end]
        f0, confidence = features.yin(frame, rate, tracker.fmin, tracker.fmax)
        span = length - tau_max + (rate / f0 if f0 > 0 else tau_max)   # newest samples the reading used
        moments.append((end - length - span / 2) / hop)
        f0s.append(f0)
        voiced.append(f0 > 0 and confidence >= tracker.threshold
                      and features.loudness_db(frame[-tracker.loudness_window:]) > -70.0)
    return np.rint(moments).astype(int), np.array(f0s), np.array(voiced)


def instruments_of(model_path: Path) -> list[str]:
    card = model_path.with_name("timbre.json")
    if card.exists():
        return json.loads(card.read_text())["instruments"]
    raise FileNotFoundError(f"{card}: the card naming the model's instruments is missing")


def run(model_path: Path | None = None, tunes_per_instrument: int = 6, seconds: float = 10.0,
        progress=print) -> dict:
    from models.common import metrics
    from models.timbre import dataset
    from models.timbre.synthesis import render_sequence

    started = time.monotonic()
    model_path = Path(model_path or SHIPPED)
    instruments = instruments_of(model_path)
    table = LookupTable(dataset.load("train", instruments, progress=progress))
    held_out = dataset.load("test", instruments, progress=progress)
    frames = int(seconds / 0.005)
    figures: dict = {"tunes_per_instrument": tunes_per_instrument, "seconds_per_tune": seconds}
    cents, steady_cents, floor_cents, floor_steady_cents, loudness_errors = [], [], [], [], []
    for i, name in enumerate(instruments):
        distances = {"model": [], "baseline": [], "floor": [], "noise_seed": []}
        mel = {"model": [], "baseline": [], "floor": []}
        chosen = np.nonzero(held_out.instrument == i)[0][:tunes_per_instrument]
        for t in chosen:
            tune = {k: v[:frames] for k, v in held_out.tune(t).items()}
            truth = dataset.audio_of(held_out.files[t])
            weights = np.eye(len(instruments), dtype=np.float32)[i]
            y = model_controls(model_path, tune["f0_held"], tune["loudness_db"], weights)
            ours = render_sequence(tune["f0_held"], y)
            amplitude, distribution, noise = table.controls(i, tune["f0_held"], tune["loudness_db"])
            base = render_sequence(tune["f0_held"], amplitude=amplitude, distribution=distribution, noise=noise)
            amplitude, distribution, noise = analysis.controls_of(tune["harmonics"], tune["noise"])
            floor = render_sequence(tune["f0_held"], amplitude=amplitude, distribution=distribution, noise=noise)
            other_seed = render_sequence(tune["f0_held"], amplitude=amplitude, distribution=distribution,
                                         noise=noise, seed=1)
            truth = truth[: len(ours)]
            for key, audio in (("model", ours), ("baseline", base), ("floor", floor)):
                distances[key].append(metrics.multiscale_spectral_distance(audio, truth))
                mel[key].append(metrics.log_mel_distance(audio, truth, analysis.RATE))
            # What the spectral distance gives two renderings differing only in the noise's random draw.
            distances["noise_seed"].append(metrics.multiscale_spectral_distance(floor, other_seed))
            # Pitch: the output read by YIN, against the f0 that drove it, where the input was a note; the
            # floor's output measured the same way says what the measurement itself reads into these sounds.
            # Away from note changes: no reading within 15 ms (half the tracker's window) of one.
            score = tune["f0"]
            near = np.convolve(np.abs(np.diff(score, prepend=score[0])) > 0, np.ones(7), "same") > 0
            for key, audio, kept, kept_steady in (("model", ours, cents, steady_cents),
                                                 ("floor", floor, floor_cents, floor_steady_cents)):
                moment, f0_out, voiced_out = measured_pitch(audio)
                inside = (moment >= 0) & (moment < len(score)) & voiced_out
                moment, f0_out = moment[inside], f0_out[inside]
                both = score[moment] > 0
                c = 1200 * np.abs(np.log2(f0_out[both] / score[moment][both]))
                kept.append(c)
                kept_steady.append(c[~near[moment][both]])
            # Loudness: the output's against the input's, frame by frame, where there is sound.
            out_loud = analysis.loudness_db(ours, len(tune["loudness_db"]))
            loud = tune["loudness_db"] > -50
            loudness_errors.append(np.abs(out_loud[loud] - tune["loudness_db"][loud]))
        for key, values in distances.items():
            figures[f"{name}_{key}_spectral_distance"] = round(float(np.mean(values)), 4)
        for key, values in mel.items():
            figures[f"{name}_{key}_log_mel_distance"] = round(float(np.mean(values)), 4)
        figures[f"{name}_ratio_to_baseline"] = round(figures[f"{name}_model_spectral_distance"]
                                                     / figures[f"{name}_baseline_spectral_distance"], 3)
        figures[f"{name}_log_mel_ratio_to_baseline"] = round(figures[f"{name}_model_log_mel_distance"]
                                                             / figures[f"{name}_baseline_log_mel_distance"], 3)
        progress(f"timbre eval: {name}: model {figures[f'{name}_model_spectral_distance']:.3f}, baseline "
                 f"{figures[f'{name}_baseline_spectral_distance']:.3f}, floor {figures[f'{name}_floor_spectral_distance']:.3f}")
    all_cents = np.concatenate(cents)
    figures["f0_median_cents"] = round(float(np.median(all_cents)), 2)
    figures["f0_outliers_over_50_cents_pct"] = round(float(np.mean(all_cents > 50) * 100), 2)
    figures["f0_frames"] = int(len(all_cents))
    steady = np.concatenate(steady_cents)
    figures["f0_steady_median_cents"] = round(float(np.median(steady)), 2)
    figures["f0_steady_outliers_over_50_cents_pct"] = round(float(np.mean(steady > 50) * 100), 2)
    floor_all, floor_steady = np.concatenate(floor_cents), np.concatenate(floor_steady_cents)
    figures["floor_f0_outliers_over_50_cents_pct"] = round(float(np.mean(floor_all > 50) * 100), 2)
    figures["floor_f0_steady_outliers_over_50_cents_pct"] = round(float(np.mean(floor_steady > 50) * 100), 2)
    figures["loudness_mean_abs_error_db"] = round(float(np.mean(np.concatenate(loudness_errors))), 2)
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def table(figures: dict) -> str:
    names = sorted({k.split("_")[0] for k in figures if k.endswith("_ratio_to_baseline")})
    lines = [f"{'instrument':<12}{'model':>10}{'baseline':>10}{'measured':>10}{'noise':>8}{'ratio':>8}"
             "  (multi-scale spectral distance; noise: two noise draws of the measured controls)"]
    for n in names:
        lines.append(f"{n:<12}{figures[f'{n}_model_spectral_distance']:>10.3f}"
                     f"{figures[f'{n}_baseline_spectral_distance']:>10.3f}{figures[f'{n}_floor_spectral_distance']:>10.3f}"
                     f"{figures[f'{n}_noise_seed_spectral_distance']:>8.3f}{figures[f'{n}_ratio_to_baseline']:>8.3f}")
    lines.append(f"{'instrument':<12}{'model':>10}{'baseline':>10}{'measured':>10}{'':>8}{'ratio':>8}  (log-mel distance)")
    for n in names:
        lines.append(f"{n:<12}{figures[f'{n}_model_log_mel_distance']:>10.3f}"
                     f"{figures[f'{n}_baseline_log_mel_distance']:>10.3f}{figures[f'{n}_floor_log_mel_distance']:>10.3f}"
                     f"{'':>8}{figures[f'{n}_log_mel_ratio_to_baseline']:>8.3f}")
    lines.append(f"f0 re-tracked: median {figures['f0_median_cents']:.1f} cents, "
                 f"{figures['f0_outliers_over_50_cents_pct']:.2f} % over 50 cents ({figures['f0_frames']} voiced frames); "
                 f"away from note changes: {figures['f0_steady_median_cents']:.1f} cents, "
                 f"{figures['f0_steady_outliers_over_50_cents_pct']:.2f} %; the measured controls' output, tracked the same way: "
                 f"{figures['floor_f0_outliers_over_50_cents_pct']:.2f} % and "
                 f"{figures['floor_f0_steady_outliers_over_50_cents_pct']:.2f} %")
    lines.append(f"loudness: mean abs error {figures['loudness_mean_abs_error_db']:.2f} dB")
    return "\n".join(lines)


def spectrogram_picture(path: Path, model_path: Path | None = None, seconds: float = 4.0) -> Path:
    """Before/after: a held-out flute rendering's spectrogram over that of the
    model playing it as a violin (and the other instruments), one strip each."""
    import cv2

    from models.timbre import dataset
    from models.timbre.synthesis import render_sequence
    model_path = Path(model_path or SHIPPED)
    instruments = instruments_of(model_path)
    held_out = dataset.load("test", instruments)
    source = instruments[1] if len(instruments) > 1 else instruments[0]
    t = int(np.nonzero(held_out.instrument == instruments.index(source))[0][0])
    frames = int(seconds / 0.005)
    tune = {k: v[:frames] for k, v in held_out.tune(t).items()}
    strips = [("input: " + source, dataset.audio_of(held_out.files[t])[: frames * analysis.HOP])]
    for i, name in enumerate(instruments):
        if name == source:
            continue
        y = model_controls(model_path, tune["f0_held"], tune["loudness_db"], np.eye(len(instruments))[i])
        strips.append((f"output: {name}", render_sequence(tune["f0_held"], y)))
    rows = []
    for label, audio in strips:
        frames_ = np.lib.stride_tricks.sliding_window_view(np.pad(audio, (0, 1024)), 1024)[::128]
        spectrum = 20 * np.log10(np.abs(np.fft.rfft(frames_ * np.hanning(1024), axis=-1)) + 1e-6)
        image = np.clip((spectrum.T[::-1] + 100) / 100 * 255, 0, 255).astype(np.uint8)
        image = cv2.applyColorMap(cv2.resize(image, (image.shape[1] * 2, 256)), cv2.COLORMAP_MAGMA)
        cv2.putText(image, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(image)
    cv2.imwrite(str(path), np.concatenate(rows, 0))
    return path


def main(model_path: Path | None, json_path: Path | None, tunes: int = 6, seconds: float = 10.0,
         picture: Path | None = None) -> int:
    import sys

    from models.timbre.dataset import TimbreDataError
    try:
        figures = run(model_path, tunes, seconds)
    except (TimbreDataError, FileNotFoundError) as error:
        print(f"tensorstage eval timbre: {error}", file=sys.stderr)
        return 1
    print(table(figures))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=1) + "\n")
    if picture:
        print(f"wrote {spectrogram_picture(picture, model_path)}")
    return 0
