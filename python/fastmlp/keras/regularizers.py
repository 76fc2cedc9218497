"""``keras.regularizers``: L1/L2 penalties on a Dense kernel (``kernel_regularizer=``).

Keras' ``l2(a)`` adds ``a * sum(W**2)`` to the loss; the engine's ``l2`` adds
``(l2 / 2) * sum(W**2)`` (PyTorch's weight-decay convention), so ``l2(a)`` is ``l2 = 2a`` there.
``l1(a)`` adds ``a * sum|W|`` in both.
"""
from __future__ import annotations

import math
from numbers import Real

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get"]


def _factor(name, v):
    if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) or v < 0:
        raise ValueError(f"regularizer {name} must be a finite number >= 0, got {v!r}")
    return float(v)


class Regularizer:
    """``l1 * sum|W| + l2 * sum(W**2)`` (Keras' factors)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor("l1", l1), _factor("l2", l2)

    def engine_penalties(self) -> tuple:
        """``(l1, l2)`` as ``fm.Dense(l1=, l2=)`` takes them (engine l2 = 2 * Keras l2)."""
        return self.l1, 2.0 * self.l2

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1!r}, l2={self.l2!r})"


class L1(Regularizer):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(Regularizer):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        super().__init__(l1=l1, l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2

_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier):
    """A Regularizer from one, a name ("l1", "l2", "l1_l2": Keras' defaults) or None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown regularizer {identifier!r}: use keras.regularizers.l1(a), l2(a), "
                     f"l1_l2(l1=, l2=) or one of {sorted(_NAMES)}")
