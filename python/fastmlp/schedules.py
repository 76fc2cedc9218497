"""Learning-rate schedules: callables ``epoch -> lr`` (epochs count from 0).

Pass one as an optimizer's ``lr`` (``fm.Adam(lr=fm.schedules.CosineDecay(1e-2, 50))``); ``fit``
sets the rate at the start of every epoch. Any plain callable ``epoch -> lr`` works too.

The ``PerStep*`` schedules (and ``PiecewiseConstantDecay``) are Keras' ``LearningRateSchedule``s:
callables ``step -> lr`` with ``per_step = True``, which ``fit`` calls before every optimizer
step with the number of steps taken so far (Keras' ``optimizer.iterations``).
"""
from __future__ import annotations

import math
from numbers import Integral, Real

from fastmlp._validation import Interval, validate_params

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "PerStepExponentialDecay",
           "PiecewiseConstantDecay", "PerStepCosineDecay", "SCHEDULES"]


class Schedule:
    """Base class: subclasses define ``__call__(epoch) -> float`` and ``_params``."""

    _params: tuple = ()
    _constraints: dict = {}

    def _validate(self):
        validate_params(type(self).__name__, self.get_config(), self._constraints)

    def get_config(self) -> dict:
        return {p: getattr(self, p) for p in self._params}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(self.get_config().items())))


_LR = [Interval(Real, 0, None, closed="neither")]


class StepDecay(Schedule):
    """``initial_lr * gamma ** (epoch // step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    _params = ("initial_lr", "step_size", "gamma")
    _constraints = {"initial_lr": _LR, "step_size": [Interval(Integral, 1, None)],
                    "gamma": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, initial_lr, step_size, gamma=0.1):
        self.initial_lr, self.step_size, self.gamma = initial_lr, step_size, gamma
        self._validate()

    def __call__(self, epoch):
        return float(self.initial_lr * self.gamma ** (int(epoch) // self.step_size))


class ExponentialDecay(Schedule):
    """``initial_lr * decay_rate ** (epoch / decay_epochs)``, floored to whole periods when
    ``staircase`` (Keras's ``ExponentialDecay``, counted in epochs)."""

    _params = ("initial_lr", "decay_rate", "decay_epochs", "staircase")
    _constraints = {"initial_lr": _LR, "decay_rate": [Interval(Real, 0, None, closed="neither")],
                    "decay_epochs": [Interval(Real, 0, None, closed="neither")],
                    "staircase": ["boolean"]}

    def __init__(self, initial_lr, decay_rate, decay_epochs=1, staircase=False):
        self.initial_lr, self.decay_rate = initial_lr, decay_rate
        self.decay_epochs, self.staircase = decay_epochs, staircase
        self._validate()

    def __call__(self, epoch):
        p = epoch / self.decay_epochs
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_lr * self.decay_rate ** p)


class CosineDecay(Schedule):
    """Half a cosine from ``initial_lr`` down to ``min_lr`` over ``decay_epochs``, then flat
    (``torch``'s ``CosineAnnealingLR`` without restarts)."""

    _params = ("initial_lr", "decay_epochs", "min_lr")
    _constraints = {"initial_lr": _LR, "decay_epochs": [Interval(Integral, 1, None)],
                    "min_lr": [Interval(Real, 0, None)]}

    def __init__(self, initial_lr, decay_epochs, min_lr=0.0):
        self.initial_lr, self.decay_epochs, self.min_lr = initial_lr, decay_epochs, min_lr
        self._validate()

    def __call__(self, epoch):
        t = min(int(epoch), self.decay_epochs) / self.decay_epochs
        return float(self.min_lr + (self.initial_lr - self.min_lr) * 0.5
                     * (1.0 + math.cos(math.pi * t)))


class PerStepExponentialDecay(Schedule):
    """Keras' ``ExponentialDecay``: ``initial_learning_rate * decay_rate ** (step /
    decay_steps)``, the exponent floored when ``staircase``; ``step`` counts optimizer steps."""

    per_step = True
    _params = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase")
    _constraints = {"initial_learning_rate": _LR,
                    "decay_steps": [Interval(Real, 0, None, closed="neither")],
                    "decay_rate": [Interval(Real, 0, None, closed="neither")],
                    "staircase": ["boolean"]}

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase = decay_rate, staircase
        self._validate()

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate * self.decay_rate ** p)


class PiecewiseConstantDecay(Schedule):
    """Keras' ``PiecewiseConstantDecay``: ``values[0]`` while ``step <= boundaries[0]``,
    ``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after."""

    per_step = True
    _params = ("boundaries", "values")

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay needs one more value than boundaries, got "
                             f"{len(boundaries)} boundaries and {len(values)} values")
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay boundaries must increase, got "
                             f"{boundaries}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, Real) or not v > 0 \
                    or not math.isfinite(v):
                raise ValueError(f"PiecewiseConstantDecay values must be finite numbers > 0, "
                                 f"got {values}")
        self.boundaries, self.values = boundaries, [float(v) for v in values]

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def __hash__(self):
        return hash((type(self).__name__, tuple(self.boundaries), tuple(self.values)))


class PerStepCosineDecay(Schedule):
    """Keras' ``CosineDecay`` (no warmup): ``initial_learning_rate * ((1 - alpha) * 0.5 *
    (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)``."""

    per_step = True
    _params = ("initial_learning_rate", "decay_steps", "alpha")
    _constraints = {"initial_learning_rate": _LR,
                    "decay_steps": [Interval(Integral, 1, None)],
                    "alpha": [Interval(Real, 0, 1)]}

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate, self.decay_steps, self.alpha = (initial_learning_rate,
                                                                    decay_steps, alpha)
        self._validate()

    def __call__(self, step):
        t = min(int(step), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * t))
        return float(self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha))


SCHEDULES = {c.__name__: c for c in (StepDecay, ExponentialDecay, CosineDecay,
                                     PerStepExponentialDecay, PiecewiseConstantDecay,
                                     PerStepCosineDecay)}
