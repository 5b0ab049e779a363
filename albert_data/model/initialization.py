"""Seeded weight initialisation, so the same ``--seed`` gives the same starting model.

Keras' initialisers draw from a global seed generator; here every weight is drawn
from one ``numpy.random.Generator`` in the model's weight order instead, with
Google's choices: kernels and embedding tables from a normal distribution truncated
at two standard deviations (``initializer_range``), biases and LayerNorm offsets zero,
LayerNorm scales one.
"""

from __future__ import annotations

import numpy as np

ZERO_NAMES = ("bias", "beta", "output_bias")
ONE_NAMES = ("gamma",)


def truncated_normal(rng: np.random.Generator, shape, stddev: float) -> np.ndarray:
    """Normal samples with everything beyond two standard deviations redrawn."""
    values = rng.standard_normal(shape, dtype=np.float32)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
        outside = np.abs(values) > 2.0
    return values * np.float32(stddev)


def initialize_weights(model, seed: int) -> None:
    """Re-initialise every weight of a built model from ``seed``."""
    rng = np.random.default_rng([seed, 0x414C42])
    stddev = model.config.initializer_range
    for variable in model.weights:
        shape = tuple(variable.shape)
        if variable.name in ZERO_NAMES or variable.name.endswith("bias"):
            value = np.zeros(shape, np.float32)
        elif variable.name in ONE_NAMES:
            value = np.ones(shape, np.float32)
        else:
            value = truncated_normal(rng, shape, stddev)
        variable.assign(value.astype(np.dtype(variable.dtype)))
