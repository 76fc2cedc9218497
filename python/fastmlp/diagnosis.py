"""``diagnose``: a bias/variance reading of train, dev and baseline errors, with next steps."""
from __future__ import annotations

import math
from numbers import Real

from fastmlp.errors import InvalidParameterError

__all__ = ["diagnose"]


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
