"""The phrase network: the previous 20 ms frame's pitch and loudness tokens
(one-hot) in, logits for this frame's pitch (61: rest + 60 notes) and loudness
(16 steps) out, through a GRU that carries the phrase (key, rhythm, where the
note is in its length). Keras layers and `keras.ops` only."""
from __future__ import annotations

import keras
from keras import layers, ops

from engine.runtime.phrase import INPUTS, LOUDNESS_STEPS, PITCHES

UNITS = 256


def build(units: int = UNITS, name: str = "phrase_net") -> keras.Model:
    x = keras.Input((None, INPUTS), name="x")
    h = layers.Dense(128, activation="relu", name="embed")(x)
    h = layers.GRU(units, return_sequences=True, name="gru")(h)
    h = layers.Dense(256, activation="relu", name="hidden")(h)
    pitch = layers.Dense(PITCHES, name="pitch")(h)
    loudness = layers.Dense(LOUDNESS_STEPS, name="loudness")(h)
    return keras.Model(x, layers.Concatenate(name="logits")([pitch, loudness]), name=name)


def step(model: keras.Model, x, state):
    """One frame: x (batch, INPUTS), state (batch, units) -> (logits, new state)."""
    h, new_state = model.get_layer("gru").cell(model.get_layer("embed")(x), state)
    if isinstance(new_state, (list, tuple)):
        new_state = new_state[0]
    h = model.get_layer("hidden")(h)
    return ops.concatenate([model.get_layer("pitch")(h), model.get_layer("loudness")(h)], axis=-1), new_state


def units_of(model: keras.Model) -> int:
    return int(model.get_layer("gru").units)
