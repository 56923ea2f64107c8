"""`tensorstage eval phrase`: the shipped phrase model on held-out tunes (the
test split, never trained on).

- Negative log-likelihood per 20 ms frame of the held-out token streams
  (pitch and loudness together, nats), against a first-order Markov chain over
  the same joint tokens fitted on the training split (add-alpha smoothing, alpha
  chosen on the validation split: the baseline's best). Target: at least 20 %
  below the baseline's.
- 100 primed continuations (4 s of a held-out tune heard, 8 s generated at
  temperature 0.8): their pitch-class and interval histograms against the
  held-out tunes' (total variation distance, 0 same .. 1 disjoint), how
  many of its notes lie in the primer's scale (and of the tune's own
  continuation), and how often the continuation's key (Krumhansl-Schmuckler) is the primer's, against
  continuations generated with no primer, only one note of a random pitch (a
  control: their agreement with the same primers' keys is what chance gives).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from engine.runtime import phrase

SHIPPED = Path(__file__).resolve().parent / "phrase.tflite"
PRIME_FRAMES, GENERATED_FRAMES, TEMPERATURE = 200, 400, 0.8
# Krumhansl-Kessler key profiles (C major, C minor), rotated for the 12 tonics.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_of(pitch: np.ndarray) -> int | None:
    """0..11 major, 12..23 minor (tonic = index % 12), from frame-weighted pitch classes; None if silent."""
    notes = pitch[pitch > 0]
    if len(notes) == 0:
        return None
    classes = np.bincount((notes - 1 + phrase.LOWEST_MIDI) % 12, minlength=12).astype(float)
    scores = [np.corrcoef(classes, np.roll(profile, tonic))[0, 1]
              for profile in (MAJOR, MINOR) for tonic in range(12)]
    return int(np.nanargmax(scores))


SCALES = (np.array([0, 2, 4, 5, 7, 9, 11]), np.array([0, 2, 3, 5, 7, 8, 10, 11]))   # major; minor (natural + leading note)


def in_scale_share(pitch: np.ndarray, key: int) -> float:
    """Share of the sounding frames whose pitch class is in the key's scale."""
    notes = pitch[pitch > 0]
    if len(notes) == 0:
        return float("nan")
    scale = (SCALES[key // 12] + key % 12) % 12
    return float(np.isin(phrase.pitch_class(notes), scale).mean())


def pitch_class_histogram(pitches) -> np.ndarray:
    notes = np.concatenate([p[p > 0] for p in pitches] + [np.zeros(0, int)])
    h = np.bincount((notes - 1 + phrase.LOWEST_MIDI) % 12, minlength=12).astype(float)
    return h / max(h.sum(), 1)


def interval_histogram(pitches) -> np.ndarray:
    """Semitone steps between successive notes (-12..12, larger clipped), rests skipped."""
    steps = []
    for p in pitches:
        notes = p[p > 0]
        if len(notes) < 2:
            continue
        changes = notes[np.r_[True, np.diff(notes) != 0]]
        steps.append(np.clip(np.diff(changes), -12, 12))
    h = np.bincount(np.concatenate(steps or [np.zeros(0, int)]) + 12, minlength=25).astype(float)
    return h / max(h.sum(), 1)


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(a - b).sum())


class Markov:
    """First-order Markov chain over joint (pitch, loudness) tokens, add-alpha smoothed."""
    STATES = phrase.PITCHES * phrase.LOUDNESS_STEPS

    def __init__(self, melodies, alpha: float = 0.1) -> None:
        self.counts = np.zeros((self.STATES, self.STATES))
        for p, l_ in zip(melodies.pitch, melodies.loudness):
            s = p * phrase.LOUDNESS_STEPS + l_
            np.add.at(self.counts, (s[:-1], s[1:]), 1)
        self.alpha = alpha

    def nll(self, melodies) -> float:
        total, frames = 0.0, 0
        rows = self.counts.sum(axis=1)
        for p, l_ in zip(melodies.pitch, melodies.loudness):
            s = p * phrase.LOUDNESS_STEPS + l_
            prob = (self.counts[s[:-1], s[1:]] + self.alpha) / (rows[s[:-1]] + self.alpha * self.STATES)
            total -= np.log(prob).sum()
            frames += len(s) - 1
        return total / frames


def model_nll(path: Path, melodies) -> float:
    from engine.runtime.sequence import SequenceModel
    model = SequenceModel(path)
    total, frames = 0.0, 0
    for p, l_ in zip(melodies.pitch, melodies.loudness):
        model.reset()
        x = phrase.encode(p[:-1], l_[:-1])
        for t in range(len(x)):
            logits = model.step(x[t]).ravel().astype(np.float64)
            for part, target in ((logits[:phrase.PITCHES], p[t + 1]), (logits[phrase.PITCHES:], l_[t + 1])):
                z = part - part.max()
                total -= z[target] - np.log(np.exp(z).sum())
        frames += len(x)
    return total / frames


def litert_stepper(path: Path):
    from engine.runtime.sequence import SequenceModel
    model = SequenceModel(path)

    def step(x, state):
        if state is None:
            model.reset()
        else:
            model.state = state
        y = model.step(x)
        return y.ravel(), model.state
    return step


def run(model_path: Path | None = None, continuations: int = 100, progress=print, cache=None) -> dict:
    from models.phrase import data
    from models.phrase.generate import continue_phrase

    started = time.monotonic()
    model_path = Path(model_path or SHIPPED)
    train, validation, held_out = (data.load(split, cache) for split in ("train", "validation", "test"))
    best = min((Markov(train, a).nll(validation), a) for a in (1.0, 0.1, 0.01, 0.001))[1]
    markov = Markov(train, best)
    figures: dict = {"held_out_melodies": len(held_out), "markov_alpha": best}
    figures["markov_nll_nats_per_frame"] = round(markov.nll(held_out), 4)
    progress(f"phrase eval: Markov baseline {figures['markov_nll_nats_per_frame']:.4f} nats per frame")
    figures["model_nll_nats_per_frame"] = round(model_nll(model_path, held_out), 4)
    figures["nll_ratio_to_markov"] = round(figures["model_nll_nats_per_frame"] / figures["markov_nll_nats_per_frame"], 3)
    progress(f"phrase eval: model {figures['model_nll_nats_per_frame']:.4f} nats per frame")
    rng = np.random.default_rng(0)
    stepper = litert_stepper(model_path)
    primed, unprimed, agree, agree_control = [], [], 0, 0
    in_scale = {"primed": [], "unprimed": [], "held_out": []}
    counted = 0
    for n in range(continuations):
        i = n % len(held_out)
        p, l_ = held_out.pitch[i], held_out.loudness[i]
        start = int(rng.integers(0, max(1, len(p) - PRIME_FRAMES)))
        prime_p, prime_l = p[start:start + PRIME_FRAMES], l_[start:start + PRIME_FRAMES]
        gen_p, _ = continue_phrase(None, prime_p, prime_l, GENERATED_FRAMES, TEMPERATURE, rng, stepper)
        # The control: no primer but one note of a random pitch (from a rest the model stays at rest).
        seed = int(phrase.pitch_token(np.array([440.0 * 2 ** ((rng.integers(55, 80) - 69) / 12)]))[0])
        free_p, _ = continue_phrase(None, [seed] * 10, [10] * 10, GENERATED_FRAMES, TEMPERATURE, rng, stepper)
        primed.append(gen_p)
        unprimed.append(free_p)
        key = key_of(prime_p)
        if key is None:
            continue
        counted += 1
        agree += key_of(gen_p) == key
        agree_control += key_of(free_p) == key
        truth = p[start + PRIME_FRAMES:start + PRIME_FRAMES + GENERATED_FRAMES]
        for name, tokens in (("primed", gen_p), ("unprimed", free_p), ("held_out", truth)):
            in_scale[name].append(in_scale_share(tokens, key))
        if (n + 1) % 25 == 0:
            progress(f"phrase eval: {n + 1}/{continuations} continuations")
    figures["continuations"] = continuations
    figures["primed_key_agreement_pct"] = round(100 * agree / max(counted, 1), 1)
    figures["unprimed_key_agreement_pct"] = round(100 * agree_control / max(counted, 1), 1)
    for name, shares in in_scale.items():
        known = [v for v in shares if np.isfinite(v)]          # a continuation of only rests has no notes
        figures[f"{name}_in_primer_scale_pct"] = round(100 * float(np.mean(known)), 1) if known else None
    truth = held_out.pitch
    figures["pitch_class_tv_distance"] = round(total_variation(pitch_class_histogram(primed),
                                                               pitch_class_histogram(truth)), 4)
    figures["interval_tv_distance"] = round(total_variation(interval_histogram(primed), interval_histogram(truth)), 4)
    figures["unprimed_pitch_class_tv_distance"] = round(total_variation(pitch_class_histogram(unprimed),
                                                                        pitch_class_histogram(truth)), 4)
    figures["unprimed_interval_tv_distance"] = round(total_variation(interval_histogram(unprimed),
                                                                     interval_histogram(truth)), 4)
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def table(f: dict) -> str:
    return "\n".join([
        f"NLL per 20 ms frame (nats): model {f['model_nll_nats_per_frame']:.4f}, Markov {f['markov_nll_nats_per_frame']:.4f}"
        f" (alpha {f['markov_alpha']:g}); ratio {f['nll_ratio_to_markov']:.3f} (target <= 0.8)",
        f"key kept in {f['continuations']} continuations: primed {f['primed_key_agreement_pct']:.1f} %, "
        f"unprimed {f['unprimed_key_agreement_pct']:.1f} % (chance: about 1 in 24)",
        f"notes in the primer's scale: primed {f['primed_in_primer_scale_pct']} %, unprimed "
        f"{f['unprimed_in_primer_scale_pct']} %, the held-out tune's own continuation {f['held_out_in_primer_scale_pct']} %",
        f"total variation against the held-out tunes: pitch classes {f['pitch_class_tv_distance']:.3f} "
        f"(unprimed {f['unprimed_pitch_class_tv_distance']:.3f}), intervals {f['interval_tv_distance']:.3f} "
        f"(unprimed {f['unprimed_interval_tv_distance']:.3f})",
    ])


def main(model_path: Path | None, json_path: Path | None, continuations: int = 100) -> int:
    import sys

    from models.timbre.dataset import TimbreDataError
    try:
        figures = run(model_path, continuations)
    except TimbreDataError as error:
        print(f"tensorstage eval phrase: {error}", file=sys.stderr)
        return 1
    print(table(figures))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=1) + "\n")
    return 0
