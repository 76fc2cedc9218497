"""Checking gradients and diagnosing bias/variance."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from fastmlp.errors import InvalidParameterError

__all__ = ["gradcheck", "GradcheckReport", "diagnose"]


@dataclass
class GradcheckReport:
    """``max_rel_error``: the largest of ``per_array``; ``per_array``: for each trainable array
    (``get_weights()`` order, trainable only) ``|g - n| / (|g| + |n|)`` in the 2-norm, with g the
    back-propagated and n the central-difference gradient; ``names`` label them."""

    max_rel_error: float
    per_array: list = field(default_factory=list)
    names: list = field(default_factory=list)
    eps: float = 0.0

    @property
    def passed(self) -> bool:
        return self.max_rel_error < 1e-7

    def __str__(self):
        lines = [f"gradcheck: max relative error {self.max_rel_error:.3e} (eps={self.eps:g})"]
        lines += [f"  {n}: {e:.3e}" for n, e in zip(self.names, self.per_array)]
        return "\n".join(lines)


def _rel_error(a: np.ndarray, b: np.ndarray) -> float:
    num = float(np.linalg.norm(a - b))
    den = float(np.linalg.norm(a) + np.linalg.norm(b))
    return 0.0 if den == 0.0 else num / den


def gradcheck(model, X, y, eps=None) -> GradcheckReport:
    """Compare back-propagated gradients with central differences.

    The check runs on a float64 copy of ``model`` without its random layers (Dropout,
    GaussianNoise: dropout off), in training mode (BatchNorm uses batch statistics), on the
    compiled loss including the L1/L2 penalty. The model itself is not changed.
    Every parameter is perturbed, so keep the model and X small.

    Parameters
    ----------
    eps : float, optional
        Finite-difference step; default 1e-6.
    """
    if eps is None:
        eps = 1e-6
    if isinstance(eps, bool) or not isinstance(eps, Real) or not (0 < eps < 1):
        raise InvalidParameterError(f"eps must be a float in (0, 1), got {eps!r}")
    twin = model._float64_twin(deterministic=True)
    X64, y64 = twin._check_xy(X, y)
    analytic = twin._gradients(X64, y64, dropout=False)
    params = twin._net.params()
    trainable = [p for p, t in zip(params, twin._net.trainable()) if t]
    names = [n for n, t in zip(twin._param_names(), twin._net.trainable()) if t]

    def loss():
        return twin._training_loss(X64, y64)

    # Central differences carry rounding noise of about machine-eps * |loss| / eps per element;
    # an array whose both gradients are below that (a bias before BatchNorm: exactly zero) is
    # a match, not a relative error of 1.
    noise = 10 * np.finfo(np.float64).eps * max(1.0, abs(loss())) / eps
    errors = []
    for P, G in zip(trainable, analytic):
        flat = P.reshape(-1)
        numeric = np.empty(flat.size)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            numeric[i] = (up - down) / (2 * eps)
        g = np.asarray(G, dtype=np.float64).reshape(-1)
        floor = noise * np.sqrt(g.size)
        if np.linalg.norm(g) <= floor and np.linalg.norm(numeric) <= floor:
            errors.append(0.0)
        else:
            errors.append(_rel_error(g, numeric))
    return GradcheckReport(max(errors, default=0.0), errors, names, float(eps))


def _check_error(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value < 0:
        raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def diagnose(train_error, dev_error, baseline_error=0.0, tol=None) -> str:
    """A short bias/variance diagnosis with the usual next steps.

    Avoidable bias = train_error - baseline_error (e.g. human-level error); variance =
    dev_error - train_error. Either is "high" above ``tol`` (default 0.02 for errors given as
    fractions, 2.0 when any error is above 1, i.e. given in percent).
    """
    train = _check_error(train_error, "train_error")
    dev = _check_error(dev_error, "dev_error")
    base = _check_error(baseline_error, "baseline_error")
    if tol is None:
        tol = 2.0 if max(train, dev, base) > 1.0 else 0.02
    tol = _check_error(tol, "tol")
    bias, variance = train - base, dev - train
    high_bias, high_var = bias > tol, variance > tol
    head = (f"train error {train:.4g}, dev error {dev:.4g}, baseline {base:.4g}: "
            f"avoidable bias {bias:.4g}, variance {variance:.4g}.")
    bias_steps = ("Reduce bias: a bigger network (more units or layers), train longer or with "
                  "a better optimizer (Adam, a tuned learning rate), less regularization, "
                  "better features.")
    var_steps = ("Reduce variance: more training data (or augmentation), more regularization "
                 "(L2, dropout), early stopping, a smaller network.")
    if high_bias and high_var:
        return f"High bias and high variance. {head}\n{bias_steps} Then: {var_steps}"
    if high_bias:
        return f"High bias (underfitting). {head}\n{bias_steps}"
    if high_var:
        return f"High variance (overfitting). {head}\n{var_steps}"
    return (f"Fine: neither high bias nor high variance. {head}\nTo improve further, lower the "
            f"baseline (better than human-level needs more data and a bigger model) or try a "
            f"harder test set.")
