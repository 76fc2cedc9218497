"""The dev set of ``fit``: the ``validation_split`` rows and the ``validation_freq`` epochs."""
from __future__ import annotations

from numbers import Integral

import numpy as np

from fastmlp.errors import InvalidParameterError

__all__ = ["split_validation", "validation_schedule"]


def split_validation(n: int, fraction: float, seed: int, labels: np.ndarray | None):
    """Shuffled (and, given 1-D labels, stratified) train/dev index split, both sorted."""
    n_val = int(round(n * fraction))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"validation_split={fraction} leaves {n - n_val} training and {n_val} "
                         f"validation samples out of {n}; both need at least one")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 - 7,)))
    if labels is not None:
        val = []
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val.append(idx[:int(round(len(idx) * fraction))])
        val = np.concatenate(val)
        if len(val) < 1 or len(val) >= n:   # tiny classes rounded away: fall back to plain
            val = rng.permutation(n)[:n_val]
    else:
        val = rng.permutation(n)[:n_val]
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def validation_schedule(validation_freq):
    """``fit(validation_freq=...)`` as a test on the 0-based epoch, Keras' rule: an int ``k``
    validates the epochs whose 1-based number is a multiple of ``k``; a list or tuple of
    1-based epoch numbers (Keras 2's form, still accepted by Keras 3) validates those."""
    is_int = isinstance(validation_freq, Integral)
    if is_int and not isinstance(validation_freq, (bool, np.bool_)):
        if validation_freq < 1:
            raise InvalidParameterError(
                f"The 'validation_freq' parameter of fit must be an int >= 1 (validate every "
                f"k-th epoch) or a list of 1-based epoch numbers. Got {validation_freq!r} "
                f"instead.")
        k = int(validation_freq)
        return lambda epoch: (epoch + 1) % k == 0
    if isinstance(validation_freq, (list, tuple)):
        for e in validation_freq:
            if not isinstance(e, Integral) or isinstance(e, (bool, np.bool_)) or e < 1:
                raise InvalidParameterError(
                    f"The 'validation_freq' parameter of fit, as a list, must hold 1-based "
                    f"epoch numbers (ints >= 1). Got {e!r} in {validation_freq!r}.")
        chosen = frozenset(int(e) for e in validation_freq)
        return lambda epoch: epoch + 1 in chosen
    raise InvalidParameterError(
        f"The 'validation_freq' parameter of fit must be an int >= 1 or a list of 1-based "
        f"epoch numbers. Got {validation_freq!r} instead.")
