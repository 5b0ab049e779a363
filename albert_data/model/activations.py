"""Activation functions by the names ``albert_config.json`` uses.

Google's ``gelu`` is the tanh approximation (``0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))``),
which Hugging Face calls ``gelu_new``; ``gelu_exact`` is the erf form.
"""

from __future__ import annotations

import keras


def _gelu_tanh(x):
    return keras.activations.gelu(x, approximate=True)


def _gelu_erf(x):
    return keras.activations.gelu(x, approximate=False)


_ACTIVATIONS = {
    "gelu": _gelu_tanh,
    "gelu_new": _gelu_tanh,
    "gelu_exact": _gelu_erf,
    "relu": keras.activations.relu,
    "tanh": keras.activations.tanh,
    "swish": keras.activations.silu,
    "linear": keras.activations.linear,
}


def get_activation(name: str):
    """The activation function for a config's ``hidden_act``."""
    return _ACTIVATIONS[name]
