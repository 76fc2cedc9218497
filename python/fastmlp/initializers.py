"""Weight initializers, in NumPy, drawn in float64 and rounded to the model's dtype.

Each takes ``(rng, fan_in, fan_out)`` and returns a float64 array of shape
``(fan_in, fan_out)`` (our Dense layout: inputs along rows, units along columns).
The He and LeCun variants use a plain (not truncated) normal, as ``torch.nn.init`` does.
"""
from __future__ import annotations

import warnings

import numpy as np

from fastmlp.errors import InvalidParameterError, SymmetryWarning

__all__ = ["INITIALIZERS", "initialize"]


def zeros(rng, fan_in, fan_out):
    return np.zeros((fan_in, fan_out))


def small_normal(rng, fan_in, fan_out):
    # The textbook 0.01 * N(0, 1): fine for shallow nets, vanishes in deep ones.
    return 0.01 * rng.standard_normal((fan_in, fan_out))


def glorot_uniform(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def glorot_normal(rng, fan_in, fan_out):
    return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal((fan_in, fan_out))


def he_uniform(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def he_normal(rng, fan_in, fan_out):
    # Var = 2 / fan_in keeps the variance of ReLU activations constant with depth.
    return np.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))


def lecun_normal(rng, fan_in, fan_out):
    return np.sqrt(1.0 / fan_in) * rng.standard_normal((fan_in, fan_out))


INITIALIZERS = {f.__name__: f for f in (zeros, small_normal, glorot_uniform, glorot_normal,
                                        he_uniform, he_normal, lecun_normal)}


def check_initializer(name, argname="init") -> str:
    if not isinstance(name, str) or name not in INITIALIZERS:
        raise InvalidParameterError(
            f"The {argname!r} parameter must be one of {sorted(INITIALIZERS)}. "
            f"Got {name!r} instead.")
    return name


def initialize(name: str, rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Draw a ``(fan_in, fan_out)`` float64 weight matrix with initializer ``name``."""
    check_initializer(name)
    if name == "zeros" and fan_out > 1:
        warnings.warn("init='zeros': every unit of the layer gets the same gradient and stays "
                      "identical to the others (symmetry is never broken); use a random "
                      "initializer such as 'glorot_uniform' or 'he_normal'",
                      SymmetryWarning, stacklevel=4)
    return INITIALIZERS[name](rng, fan_in, fan_out)
