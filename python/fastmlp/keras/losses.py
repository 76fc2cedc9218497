"""``keras.losses``: Keras' loss names and classes over the engine's fused losses.

The engine computes cross-entropies from logits (the stable form). ``from_logits=False``
(Keras' default) therefore needs the model to end with the matching softmax/sigmoid, which the
engine fuses into the loss: training and ``predict`` then give Keras' numbers. A model whose
last layer is linear needs ``from_logits=True``; one ending in a softmax/sigmoid with
``from_logits=True`` would apply it twice in Keras, and is refused. Both are checked at compile.
"""
from __future__ import annotations

from fastmlp import losses as _fm
from fastmlp.keras._compat import refuse_unsupported

__all__ = ["Loss", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber", "get",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
           "mean_squared_error", "mean_absolute_error", "huber", "mse", "mae"]

_REDUCTIONS = ("sum_over_batch_size", "auto", None)


class Loss:
    """A Keras loss: the engine's loss name, ``from_logits`` for the cross-entropies and
    Huber's delta."""

    engine_name = ""
    link = None          # the activation from_logits=False expects at the end of the model

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"fastmlp.keras losses use Keras' default reduction "
                             f"'sum_over_batch_size' (the weighted sum over the batch size), "
                             f"got reduction={reduction!r}")
        self.from_logits = bool(from_logits)
        self.name = name

    def engine_loss(self):
        """What ``Sequential.compile`` takes: a loss name or ``fm.losses.Huber``."""
        return self.engine_name

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class CategoricalCrossentropy(Loss):
    """Targets: one-hot (or probability) rows."""

    engine_name, link = "cross_entropy", "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", **kwargs):
        refuse_unsupported(type(self).__name__, label_smoothing=label_smoothing, **kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"{type(self).__name__}: axis must be -1, got {axis!r}")
        super().__init__(from_logits, reduction, name)


class SparseCategoricalCrossentropy(Loss):
    """Targets: integer labels 0..K-1."""

    engine_name, link = "cross_entropy", "softmax"

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", **kwargs):
        refuse_unsupported("SparseCategoricalCrossentropy", ignore_class=ignore_class, **kwargs)
        super().__init__(from_logits, reduction, name)


class BinaryCrossentropy(Loss):
    """Targets: 0/1 (or probabilities), one column per output."""

    engine_name, link = "binary_cross_entropy", "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", **kwargs):
        refuse_unsupported("BinaryCrossentropy", label_smoothing=label_smoothing, **kwargs)
        super().__init__(from_logits, reduction, name)


class MeanSquaredError(Loss):
    engine_name = "mse"

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(False, reduction, name)


class MeanAbsoluteError(Loss):
    engine_name = "mae"

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(False, reduction, name)


class Huber(Loss):
    """``0.5 d**2`` where ``|d| <= delta``, else ``delta * (|d| - 0.5 delta)``."""

    engine_name = "huber"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(False, reduction, name)
        self.delta = _fm.Huber(delta).delta

    def engine_loss(self):
        return _fm.Huber(self.delta)

    def __repr__(self):
        return f"Huber(delta={self.delta})"


# Keras' function names double as the strings compile takes.
categorical_crossentropy = "categorical_crossentropy"
sparse_categorical_crossentropy = "sparse_categorical_crossentropy"
binary_crossentropy = "binary_crossentropy"
mean_squared_error = mse = "mean_squared_error"
mean_absolute_error = mae = "mean_absolute_error"
huber = "huber"

_NAMES = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
}


def get(identifier) -> Loss:
    """A Loss from one or from Keras' name for it (``from_logits=False``, as in Keras)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown loss {identifier!r}: fastmlp.keras has {sorted(_NAMES)} and "
                     f"their classes (KLDivergence, Hinge, LogCosh, Poisson, CosineSimilarity "
                     f"and custom loss functions are not supported)")
