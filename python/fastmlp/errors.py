"""Exceptions and warnings fastmlp raises on purpose."""
from __future__ import annotations

__all__ = ["DivergenceError", "InvalidParameterError", "SymmetryWarning"]


class DivergenceError(FloatingPointError):
    """The training loss stopped being finite; ``fit`` stopped, the model rolled back to the
    weights (and optimizer state) from the start of the epoch that diverged.

    Attributes
    ----------
    epoch : int
        The (0-based) epoch in which the loss became non-finite.
    history : History or None
        What was recorded before it happened.
    """

    def __init__(self, message: str, epoch: int | None = None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


class InvalidParameterError(ValueError, TypeError):
    """A parameter has the wrong type or value.

    It subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's does), so callers may
    catch whichever they expect; the message always names the parameter.
    """


class SymmetryWarning(UserWarning):
    """A layer starts with every unit identical (``init="zeros"``), so they stay identical."""
