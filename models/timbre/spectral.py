"""The second training stage: the network's controls through a differentiable
copy of the engine's synthesizer, scored by the multi-scale spectral distance
that `tensorstage eval timbre` measures.

Why a second stage: the first (train.py) regresses on controls measured from
the renderings, so at best it reaches the analysis-resynthesis floor. The
measured controls are not what sounds closest: the residual after
subtracting the harmonics carries harmonic leakage (vibrato, attacks inside
the 48 ms window), so the measured noise is too loud. Halving the floor's
noise lowered its spectral distance by 6-8 %. Only a loss on the sound itself
can learn that, and more like it.

`render` is the engine's `HarmonicNoiseSynth` block for block: controls
glide linearly over each 80-sample block from the previous frame's, harmonic
k sounds at k times a fundamental phase that glides with f0 and fades out
over the last 5 % below 8 kHz, and noise is white noise shaped per frame of
two blocks in the frequency domain, sine-windowed and overlap-added.
tests/models/timbre/test_spectral.py checks the two agree sample for sample
given the same noise draws. Keras ops and TensorFlow's gradient tape, as the
first stage.
"""
from __future__ import annotations

import numpy as np

from engine.audio.synth import HarmonicNoiseSynth
from models.timbre import analysis
from models.timbre.train import WINDOW_FRAMES, Trainer, inputs_of

FFT_SIZES = (2048, 1024, 512, 256, 128, 64)     # as models/common/metrics.multiscale_spectral_distance
LOG_EPS = 1e-7
ANCHOR = 0.1      # weight of the first stage's regression loss: keeps controls near the measured ones


def engine_synth() -> HarmonicNoiseSynth:
    return HarmonicNoiseSynth(analysis.RATE, analysis.HOP, analysis.HARMONICS, analysis.BANDS,
                              top_hz=analysis.TOP_HZ, noise_top_hz=analysis.TOP_HZ)


def glide_inputs(f0_frames: np.ndarray, phase0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample of blocks 1..T, for f0 (batch, T + 1) per frame: f0 gliding from
    the previous frame's, and the fundamental phase in cycles (float64 sums, wrapped)."""
    hop = analysis.HOP
    ramp = np.arange(hop) / hop
    f0 = f0_frames[:, :-1, None] + (f0_frames[:, 1:, None] - f0_frames[:, :-1, None]) * ramp
    f0 = f0.reshape(len(f0_frames), -1).astype(np.float64)
    phase = (phase0[:, None] + np.cumsum(f0, axis=1) / analysis.RATE) % 1.0
    return f0.astype(np.float32), phase.astype(np.float32)


def white_spectra(rng: np.random.Generator, batch: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The rfft of unit white noise, one 160-sample frame each: (real, imaginary)."""
    spectrum = np.fft.rfft(rng.standard_normal((batch, frames, 2 * analysis.HOP)), axis=-1)
    return spectrum.real.astype(np.float32), spectrum.imag.astype(np.float32)


class DifferentiableSynth:
    """`HarmonicNoiseSynth.render` over a whole window at once, differentiable in the controls."""

    def __init__(self) -> None:
        synth = engine_synth()
        self.band_to_bin = synth.noise_band_to_bin.T.astype(np.float32)       # (bands, bins)
        self.window = synth.noise_window.astype(np.float32)
        self.k = np.arange(1, analysis.HARMONICS + 1, dtype=np.float32)
        self.ramp = ((np.arange(analysis.HOP) + 1) / analysis.HOP).astype(np.float32)
        self.top = float(synth.top_hz)

    def render(self, y, f0_frames, f0, phase, white_real, white_imag):
        """Audio of blocks 1..T (batch, T * 80) from controls y (batch, T + 1, 126) at
        f0_frames (batch, T + 1) Hz, with `glide_inputs` and `white_spectra` for them."""
        import tensorflow as tf
        from keras import ops
        h, hop = analysis.HARMONICS, analysis.HOP
        amplitude, distribution, gains = y[..., :1], y[..., 1:1 + h], y[..., 1 + h:]
        below = ops.cast(f0_frames[..., None] * self.k < self.top, "float32")
        kept = distribution * below
        amps = amplitude * kept / ops.maximum(ops.sum(kept, axis=-1, keepdims=True), 1e-12)    # (B, T+1, H)
        start, end = amps[:, :-1, None, :], amps[:, 1:, None, :]
        glided = start + (end - start) * self.ramp[:, None]                    # (B, T, hop, H)
        batch, blocks = ops.shape(glided)[0], ops.shape(glided)[1]
        glided = ops.reshape(glided, (batch, blocks * hop, h))
        fade = ops.clip((self.top - f0[..., None] * self.k) / (0.05 * self.top), 0.0, 1.0)
        cycles = (phase[..., None] * self.k) % 1.0
        harmonic = ops.sum(glided * fade * ops.sin(2 * np.pi * cycles), axis=-1)
        shaped = ops.matmul(gains, self.band_to_bin)                              # (B, T+1, bins)
        frames = tf.signal.irfft(tf.complex(white_real * shaped, white_imag * shaped)) * self.window
        noise = tf.signal.overlap_and_add(frames, hop)[:, hop:(blocks + 1) * hop]
        return harmonic + noise


def spectral_distance(a, b):
    """The multi-scale spectral distance (models/common/metrics.py) in TensorFlow, per batch mean."""
    import tensorflow as tf
    total = 0.0
    for n in FFT_SIZES:
        window = tf.constant(np.hanning(n), tf.float32)
        sa = tf.abs(tf.signal.stft(a, n, n // 4, fft_length=n, window_fn=lambda _n, dtype, w=window: w))
        sb = tf.abs(tf.signal.stft(b, n, n // 4, fft_length=n, window_fn=lambda _n, dtype, w=window: w))
        total += tf.reduce_mean(tf.abs(sa - sb)) + tf.reduce_mean(tf.abs(tf.math.log(sa + LOG_EPS)
                                                                         - tf.math.log(sb + LOG_EPS)))
    return total


class SpectralTrainer(Trainer):
    """The first stage's trainer with the loss taken on the synthesized sound
    (plus ANCHOR times the first stage's), started from a first-stage model."""

    def __init__(self, settings, progress=print):
        from models.timbre import dataset
        self.synth = DifferentiableSynth()
        super().__init__(settings, progress)
        self.audio = self._concatenated_audio(self.tunes, dataset)
        self.validation_audio = self._concatenated_audio(self.validation, dataset)
        # A window needs the frame before it (the glide's start).
        first = np.isin(self.window_starts, self.tunes.starts)
        self.window_starts = self.window_starts[~first]

    def _concatenated_audio(self, tunes, dataset) -> np.ndarray:
        """The renderings end to end, frame f's block at samples f * 80 (each tune cut to whole frames)."""
        parts = []
        for file, a, b in zip(tunes.files, tunes.starts[:-1], tunes.starts[1:]):
            audio = dataset.audio_of(file, self.settings.cache)[: (b - a) * analysis.HOP]
            parts.append(np.pad(audio, (0, (b - a) * analysis.HOP - len(audio))))
        return np.concatenate(parts).astype(np.float32)

    def _resume(self):
        from models.common import checkpoint
        expected = {"units": self.settings.units, "instruments": list(self.settings.instruments),
                    "stage": "spectral"}
        if checkpoint.saved_state(self.settings.out_dir) is None:
            self._start_from(self.settings.init)
        checkpoint.resume(self, "timbre", expected)
        self.state["stage"] = "spectral"

    def _start_from(self, init) -> None:
        import keras

        from models.timbre import network  # noqa: F401  (registers the Heads layer)
        if init is None:
            raise ValueError("the spectral stage starts from a first-stage model: give --init PATH.keras")
        first = keras.saving.load_model(init)
        self.model.set_weights(first.get_weights())
        self.state["init"] = str(init)
        self.progress(f"timbre: spectral stage from {init}")

    def spectral_inputs(self, starts, rng, tunes_arrays):
        """Everything one step needs for windows starting at `starts` (frame indices) of
        `tunes_arrays` (x, harmonics, noise, f0_held, audio): each window with the frame before it."""
        x, harmonics, noise, f0_held, audio = tunes_arrays
        index = starts[:, None] - 1 + np.arange(WINDOW_FRAMES + 1)[None, :]
        f0_frames = np.maximum(f0_held[index], 1.0)
        f0, phase = glide_inputs(f0_frames, rng.uniform(0, 1, len(starts)))
        real, imag = white_spectra(rng, len(starts), WINDOW_FRAMES + 1)
        samples = starts[:, None] * analysis.HOP + np.arange(WINDOW_FRAMES * analysis.HOP)[None, :]
        return (x[index], harmonics[index], noise[index], f0_frames.astype(np.float32), f0, phase,
                real, imag, audio[samples])

    def batch(self):
        starts = self.rng.choice(self.window_starts, self.settings.batch)
        return self.spectral_inputs(starts, self.rng, (self.x, self.harmonics, self.noise, self.tunes.f0_held,
                                                       self.audio))

    def spectral_losses(self, x, harmonics, noise, f0_frames, f0, phase, real, imag, audio):
        """(spectral distance of the sound, the first stage's loss on the controls)."""
        y = self.model(x, training=True)
        sound = self.synth.render(y, f0_frames, f0, phase, real, imag)
        return spectral_distance(sound, audio), self.control_loss(y, harmonics, noise)

    def _train_step(self, *batch):
        tf = self.tf
        with tf.GradientTape() as tape:
            spectral, anchor = self.spectral_losses(*batch)
            loss = spectral + ANCHOR * anchor
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return spectral

    def validation_loss(self) -> float:
        """The spectral distance on 16 fixed validation windows, with a fixed noise draw."""
        v = self.validation
        x = inputs_of(v)
        inside = np.concatenate([np.arange(a + 1, b - WINDOW_FRAMES) for a, b in zip(v.starts[:-1], v.starts[1:])
                                 if b - a > WINDOW_FRAMES + 1])
        starts = inside[np.linspace(0, len(inside) - 1, 16).astype(int)]
        batch = self.spectral_inputs(starts, np.random.default_rng(0), (
            x, np.nan_to_num(v.harmonics, nan=-1.0), v.noise, v.f0_held, self.validation_audio))
        spectral, _ = self.spectral_losses(*batch)
        return float(spectral)
