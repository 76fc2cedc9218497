"""``keras.optimizers.schedules``: learning rates per optimizer step, as Keras counts them.

Each is a callable ``step -> lr`` with ``per_step = True``: ``fit`` sets the rate before every
step from the steps taken so far (step 0 first), so the epoch runs batch by batch.
"""
from __future__ import annotations

from fastmlp.keras._compat import refuse_unsupported
from fastmlp.schedules import (
    PerStepCosineDecay,
    PerStepExponentialDecay,
    PiecewiseConstantDecay,
    Schedule,
)

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay"]

LearningRateSchedule = Schedule


def ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False,
                     name="ExponentialDecay"):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored when
    ``staircase``)."""
    return PerStepExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase)


def CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                warmup_target=None, warmup_steps=0):
    """Half a cosine from ``initial_learning_rate`` to ``alpha * initial_learning_rate`` over
    ``decay_steps`` steps, then flat (no warmup)."""
    refuse_unsupported("CosineDecay", warmup_target=warmup_target, warmup_steps=warmup_steps)
    return PerStepCosineDecay(initial_learning_rate, decay_steps, alpha)


PiecewiseConstantDecay = PiecewiseConstantDecay
