"""Optimizers: ``torch.optim``'s update rules, argument names and defaults.

An optimizer here is a validated description; the engine owns the state (moments, step
count) and runs the updates. ``lr`` (or Keras' name ``learning_rate``; not both) may be a
number, a :mod:`fastmlp.schedules` schedule or any callable ``epoch -> lr``.

``rule="keras"`` (keyword) runs Keras 3's update rule on the same hyper-parameters instead of
torch's (``fastmlp.keras`` uses it): SGD's velocity ``m = momentum*m - lr*g``; RMSprop's
epsilon inside the square root; Adam's epsilon added to the uncorrected ``sqrt(v)``; and
``weight_decay`` always decoupled (``p -= p * weight_decay * lr`` before the step).
"""
from __future__ import annotations

import math
from numbers import Real

from fastmlp import schedules as _schedules
from fastmlp._validation import Interval, validate_params
from fastmlp.errors import InvalidParameterError

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "OPTIMIZERS", "get_optimizer"]

_NONNEG = [Interval(Real, 0, None)]
RULES = ("torch", "keras")
_LR = [Interval(Real, 0, None, closed="neither"), "callable"]


def _betas_ok(betas):
    return (isinstance(betas, (tuple, list)) and len(betas) == 2
            and all(Interval(Real, 0, 1, closed="left").contains(b) for b in betas))


class Optimizer:
    """Base class: ``_params`` are the constructor arguments, ``_constraints`` their checks."""

    _params: tuple = ()
    _constraints: dict = {}
    #: whose update rule the engine runs: "torch" (torch.optim's) or "keras" (Keras 3's)
    rule = "torch"

    def _set_rule(self, rule) -> None:
        if rule not in RULES:
            raise InvalidParameterError(
                f"The 'rule' parameter of {type(self).__name__} must be one of {RULES}. Got "
                f"{rule!r} instead.")
        self.rule = rule

    def _validate(self):
        validate_params(type(self).__name__, {p: getattr(self, p) for p in self._params},
                        self._constraints)
        if hasattr(self, "betas") and not _betas_ok(self.betas):
            raise InvalidParameterError(
                f"The 'betas' parameter of {type(self).__name__} must be a pair of floats in "
                f"[0, 1). Got {self.betas!r} instead.")

    def lr_at(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (0-based), calling the schedule if there is one."""
        lr = self.lr(epoch) if callable(self.lr) else self.lr
        return check_lr(lr, f"the learning-rate schedule of {type(self).__name__} at epoch "
                            f"{epoch}")

    def core_dict(self, lr: float) -> dict:
        raise NotImplementedError

    def get_config(self) -> dict:
        cfg = {p: getattr(self, p) for p in self._params}
        if self.rule != "torch":            # absent for torch's: files stay as they were
            cfg["rule"] = self.rule
        if isinstance(cfg.get("betas"), tuple):
            cfg["betas"] = list(cfg["betas"])
        if callable(self.lr):
            if not isinstance(self.lr, _schedules.Schedule):
                raise ValueError("an optimizer whose lr is a plain callable cannot be "
                                 "serialized; use a fastmlp.schedules schedule instead")
            cfg["lr"] = {"class": type(self.lr).__name__, "config": self.lr.get_config()}
        return cfg

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        lr = config.get("lr")
        if isinstance(lr, dict):
            config["lr"] = _schedules.SCHEDULES[lr["class"]].from_config(lr["config"])
        if "betas" in config:
            config["betas"] = tuple(config["betas"])
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        if self.rule != "torch":
            args += f", rule={self.rule!r}"
        return f"{type(self).__name__}({args})"


def _lr_or_learning_rate(cls_name, lr, learning_rate, default):
    """``lr`` (torch's name) or ``learning_rate`` (Keras'), not both; neither: ``default``."""
    if learning_rate is None:
        return default if lr is None else lr
    if lr is not None:
        raise InvalidParameterError(
            f"{cls_name} got lr={lr!r} and learning_rate={learning_rate!r}: give one "
            f"(learning_rate is Keras' name for lr)")
    return learning_rate


def check_lr(lr, what="lr") -> float:
    if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or lr < 0:
        raise InvalidParameterError(f"{what} must be a finite number >= 0, got {lr!r}")
    return float(lr)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``."""

    _params = ("lr", "momentum", "dampening", "nesterov", "weight_decay")
    _constraints = {"lr": _LR, "momentum": _NONNEG, "dampening": _NONNEG,
                    "nesterov": ["boolean"], "weight_decay": _NONNEG}

    def __init__(self, lr=None, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                 *, learning_rate=None, rule="torch"):
        lr = _lr_or_learning_rate("SGD", lr, learning_rate, 0.01)
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.nesterov, self.weight_decay = nesterov, weight_decay
        self._set_rule(rule)
        self._validate()
        if rule == "keras" and dampening:
            raise InvalidParameterError("dampening is not part of Keras' SGD (rule='keras')")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise InvalidParameterError(
                "nesterov=True requires momentum > 0 and dampening == 0 (as torch.optim.SGD)")

    def core_dict(self, lr):
        return {"name": "sgd", "lr": lr, "momentum": float(self.momentum),
                "dampening": float(self.dampening), "nesterov": bool(self.nesterov),
                "weight_decay": float(self.weight_decay), "rule": self.rule}


class RMSprop(Optimizer):
    """RMSprop as ``torch.optim.RMSprop`` (eps added outside the square root)."""

    _params = ("lr", "alpha", "eps", "momentum", "centered", "weight_decay")
    _constraints = {"lr": _LR, "alpha": [Interval(Real, 0, 1)], "eps": _NONNEG,
                    "momentum": _NONNEG, "centered": ["boolean"], "weight_decay": _NONNEG}

    def __init__(self, lr=None, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0, *, learning_rate=None, rule="torch"):
        lr = _lr_or_learning_rate("RMSprop", lr, learning_rate, 0.01)
        self.lr, self.alpha, self.eps, self.momentum = lr, alpha, eps, momentum
        self.centered, self.weight_decay = centered, weight_decay
        self._set_rule(rule)
        self._validate()

    def core_dict(self, lr):
        return {"name": "rmsprop", "lr": lr, "alpha": float(self.alpha), "eps": float(self.eps),
                "momentum": float(self.momentum), "centered": bool(self.centered),
                "weight_decay": float(self.weight_decay), "rule": self.rule}


class Adam(Optimizer):
    """Adam (optionally AMSGrad) as ``torch.optim.Adam``; ``weight_decay`` is L2 added to the
    gradient (use :class:`AdamW` for decoupled decay)."""

    _params = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    _constraints = {"lr": _LR, "eps": _NONNEG, "weight_decay": _NONNEG, "amsgrad": ["boolean"]}
    _decoupled = False

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 *, learning_rate=None, rule="torch"):
        lr = _lr_or_learning_rate(type(self).__name__, lr, learning_rate, 1e-3)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad
        self._set_rule(rule)
        self._validate()
        self.betas = (float(betas[0]), float(betas[1]))

    def core_dict(self, lr):
        return {"name": "adam", "lr": lr, "beta1": self.betas[0], "beta2": self.betas[1],
                "eps": float(self.eps), "weight_decay": float(self.weight_decay),
                "amsgrad": bool(self.amsgrad), "decoupled": self._decoupled, "rule": self.rule}


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``."""

    _decoupled = True

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False,
                 *, learning_rate=None, rule="torch"):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         learning_rate=learning_rate, rule=rule)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get_optimizer(optimizer) -> Optimizer:
    """An Optimizer instance, or a name (``"adam"``) for one with default arguments."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise InvalidParameterError(
        f"The 'optimizer' parameter must be an Optimizer (fm.SGD, fm.RMSprop, fm.Adam, fm.AdamW)"
        f" or one of {sorted(OPTIMIZERS)}. Got {optimizer!r} instead.")
