"""The sample RNN (LPCNet-like, engine/runtime/sample_rnn.py): per sample the
previous sample, this sample's linear prediction and the previous excitation
(8-bit mu-law, each through an embedding) and the texture (one-hot, or a mix)
into a GRU; a ReLU layer and 256 logits over this sample's excitation.
Keras layers only; the engine runs the exported weights in a numba loop."""
from __future__ import annotations

import keras
from keras import layers

from engine.runtime.sample_rnn import LEVELS

UNITS, HIDDEN, EMBED = 256, 128, 64


def build(textures: int, units: int = UNITS, hidden: int = HIDDEN, embed: int = EMBED,
          name: str = "sample_rnn") -> keras.Model:
    sample = keras.Input((None,), dtype="int32", name="sample")
    prediction = keras.Input((None,), dtype="int32", name="prediction")
    excitation = keras.Input((None,), dtype="int32", name="excitation")
    texture = keras.Input((None, textures), name="texture")
    x = layers.Concatenate(name="inputs")([
        layers.Embedding(LEVELS, embed, name="embed_sample")(sample),
        layers.Embedding(LEVELS, embed, name="embed_prediction")(prediction),
        layers.Embedding(LEVELS, embed, name="embed_excitation")(excitation),
        texture])
    h = layers.GRU(units, return_sequences=True, name="gru")(x)
    h = layers.Dense(hidden, activation="relu", name="hidden")(h)
    return keras.Model([sample, prediction, excitation, texture], layers.Dense(LEVELS, name="logits")(h),
                       name=name)
