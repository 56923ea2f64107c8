"""The timbre network: f0, loudness and an instrument vector in, the
harmonic-plus-noise synthesizer's controls out, one 5 ms frame at a time.

- Input `x` per frame: f0 as MIDI pitch / 127, loudness as (dB + 80) / 80, and
  the instrument weights (one-hot in training; any mix on stage, a morph).
- A dense layer, a GRU (256 units: it hears note onsets, attacks and decays that
  a lookup by pitch and loudness cannot), a dense layer, and three heads:
  amplitude (DDSP's exponentiated sigmoid), a softmax distribution over 60
  harmonics, and 65 noise band gains (exponentiated sigmoid, scaled down).
- Output `y` per frame: [amplitude, 60 harmonics, 65 noise gains], linear, the
  order `engine/processors/timbre.py` reads (Controls of engine/audio/synth.py).
Keras layers and `keras.ops` only.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

HARMONICS, BANDS = 60, 65
OUTPUTS = 1 + HARMONICS + BANDS
UNITS = 256


def scale_inputs(f0_hz, loudness_db, weights) -> np.ndarray:
    """(frames, 2 + instruments) model input from f0 (Hz, held: never 0), loudness (dB) and weights."""
    f0_hz = np.maximum(np.asarray(f0_hz, np.float64), 1.0)
    midi = 69 + 12 * np.log2(f0_hz / 440.0)
    loud = (np.asarray(loudness_db, np.float64) + 80) / 80
    weights = np.broadcast_to(np.asarray(weights, np.float64), (len(midi), np.shape(weights)[-1]))
    return np.concatenate([(midi / 127)[:, None], np.clip(loud, -0.5, 1.5)[:, None], weights], 1).astype(np.float32)


def exp_sigmoid(x, exponent=10.0, max_value=2.0, threshold=1e-7):
    """DDSP's output nonlinearity: positive, smooth, spans many decades."""
    return max_value * ops.sigmoid(x) ** math.log(exponent) + threshold


@keras.saving.register_keras_serializable(package="tensorstage_timbre")
class Heads(layers.Layer):
    """The synthesizer's controls from the hidden features, as one vector."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.amplitude = layers.Dense(1, name="amplitude")
        self.harmonics = layers.Dense(HARMONICS, name="harmonics")
        self.noise = layers.Dense(BANDS, name="noise")

    def build(self, shape):
        for head in (self.amplitude, self.harmonics, self.noise):
            head.build(shape)

    def call(self, h):
        amplitude = exp_sigmoid(self.amplitude(h))
        distribution = ops.softmax(self.harmonics(h), axis=-1)
        noise = exp_sigmoid(self.noise(h) - 5.0, max_value=0.1)
        return ops.concatenate([amplitude, distribution, noise], axis=-1)


def build(instruments: int, units: int = UNITS, name: str = "timbre_net") -> keras.Model:
    """The whole-sequence network (training): x (batch, frames, 2 + instruments) -> y (batch, frames, 126)."""
    x = keras.Input((None, 2 + instruments), name="x")
    h = layers.Dense(128, activation="relu", name="embed")(x)
    h = layers.GRU(units, return_sequences=True, name="gru")(h)
    h = layers.Concatenate(name="with_inputs")([h, x])
    h = layers.Dense(256, activation="relu", name="hidden")(h)
    y = Heads(name="heads")(h)
    return keras.Model(x, y, name=name)


def step_layers(model: keras.Model):
    """The layers one step runs, in order (the GRU's cell takes the state)."""
    return model.get_layer("embed"), model.get_layer("gru"), model.get_layer("hidden"), model.get_layer("heads")


def step(model: keras.Model, x, state):
    """One frame: x (batch, 2 + instruments), state (batch, units) -> (y, new state)."""
    embed, gru, hidden, heads = step_layers(model)
    h, new_state = gru.cell(embed(x), state)
    if isinstance(new_state, (list, tuple)):
        new_state = new_state[0]
    y = heads(hidden(ops.concatenate([h, x], axis=-1)))
    return y, new_state


def instruments_of(model: keras.Model) -> int:
    return int(model.input_shape[-1]) - 2


def units_of(model: keras.Model) -> int:
    return int(model.get_layer("gru").units)


def load(path) -> keras.Model:
    """A saved timbre network (its Heads layer is this module's)."""
    return keras.models.load_model(path, custom_objects={"Heads": Heads}, compile=False)
