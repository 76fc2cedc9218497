"""``keras.utils``: ``to_categorical``, ``set_random_seed``, ``clear_session``."""
from __future__ import annotations

import random

import numpy as np

from fastmlp.keras._compat import reset_names, set_global_seed

__all__ = ["to_categorical", "set_random_seed", "clear_session"]


def clear_session(free_memory=True) -> None:
    """Keras' ``clear_session``: automatic layer and model names start over (``dense``, ...).
    Models hold no global state otherwise, so there is nothing else to free."""
    reset_names()


def set_random_seed(seed) -> None:
    """Keras' ``set_random_seed``: seeds Python's and NumPy's global generators, and the models
    created afterwards without ``seed=`` draw their seeds (weights, dropout, shuffles) from
    ``seed`` in order, so a script runs the same every time."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"set_random_seed needs an int >= 0, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    set_global_seed(seed)


def to_categorical(x, num_classes=None) -> np.ndarray:
    """One-hot rows (float32) of integer labels ``x`` in ``0..num_classes-1`` (Keras':
    ``num_classes`` defaults to ``max(x) + 1``; a trailing axis of 1 is dropped)."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError("to_categorical: x must hold integer class labels")
        a = a.astype(np.int64)
    elif a.dtype.kind not in "iub":
        raise ValueError(f"to_categorical: x must hold integer class labels, got dtype "
                         f"{a.dtype}")
    if a.ndim > 1 and a.shape[-1] == 1:
        a = a.reshape(a.shape[:-1])
    if a.size and a.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, found {a.min()}")
    if num_classes is None:
        num_classes = int(a.max()) + 1 if a.size else 0
    elif a.size and a.max() >= num_classes:
        raise ValueError(f"to_categorical: label {a.max()} is outside 0..{num_classes - 1}")
    out = np.zeros(a.shape + (int(num_classes),), dtype=np.float32)
    np.put_along_axis(out, a[..., None].astype(np.int64), 1.0, axis=-1)
    return out
