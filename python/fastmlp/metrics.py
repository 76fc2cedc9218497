"""Metrics: Keras' names, and their values from the engine's weighted sums.

The engine sums, for an epoch, a batch or an evaluation: correct predictions and the sample
weights (accuracy), the data loss without the penalty and the absolute errors (loss ``mse``'s
metrics), each weighted by ``sample_weight``. These turn the sums into the logged values.
"""
from __future__ import annotations

import math

from fastmlp.errors import InvalidParameterError
from fastmlp.losses import is_classification, is_regression

__all__ = ["ACCURACY_NAMES", "REGRESSION_NAMES", "resolve_metrics", "metric_logs", "accuracy"]

#: Keras' names for accuracy. The classification losses always report it (as "accuracy"), so
#: asking for it changes nothing but is accepted, as the usual Keras compile line needs.
ACCURACY_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
                     "binary_accuracy")

#: Regression metrics (loss "mse") -> their history/evaluate key.
REGRESSION_NAMES = {"mae": "mae", "mean_absolute_error": "mae", "mse": "mse",
                       "mean_squared_error": "mse", "rmse": "rmse",
                       "root_mean_squared_error": "rmse"}


def resolve_metrics(metrics, loss: str) -> tuple:
    """compile(metrics=...) as the keys they report, in order, without repeats."""
    if metrics is None:
        return ()
    valid = list(ACCURACY_NAMES) + list(REGRESSION_NAMES)
    if not isinstance(metrics, (list, tuple)):
        raise InvalidParameterError(
            f"The 'metrics' parameter must be a list of metric names (from {valid}). Got "
            f"{metrics!r} instead.")
    keys = []
    for name in metrics:
        low = name.lower() if isinstance(name, str) else None
        if low in ACCURACY_NAMES:
            if not is_classification(loss):
                raise ValueError(
                    f"metrics: {name!r} (accuracy) needs a classification loss "
                    f"('cross_entropy' or 'binary_cross_entropy'), but the loss is {loss!r}; "
                    f"for regression use 'mae', 'mse' or 'rmse'")
            key = "accuracy"
        elif low in REGRESSION_NAMES:
            key = REGRESSION_NAMES[low]
            if loss != "mse" and not (key == "mae" and is_regression(loss)):
                raise ValueError(
                    f"metrics: {name!r} needs loss 'mse' (the regression losses 'mae' and "
                    f"'huber' report 'mae' only), but the loss is {loss!r} (classification "
                    f"losses report 'accuracy')")
        else:
            raise InvalidParameterError(
                f"The 'metrics' parameter must be a list of metric names (from {valid}). Got "
                f"{name!r} in it.")
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def accuracy(loss: str, out_dim: int, correct, weight) -> float:
    """correct / total, both weighted (sample weights; row counts when unweighted).
    binary_cross_entropy counts correct elements (one per label), cross_entropy samples."""
    per = out_dim if loss == "binary_cross_entropy" else 1
    return float(correct) / float(weight * per)


def metric_logs(loss: str, metrics: tuple, out_dim: int, totals) -> dict:
    """Accuracy for the classification losses, else the regression metrics asked for —
    Keras' sample-weighted means over elements, sum_i w_i * sum_j f(e_ij) / (sum_i w_i * k),
    with mse the data loss without the penalty and rmse its root. NaN when no weight.
    ``totals``: the engine's running sums (``_core.Totals``: correct, weight, data_sum,
    abs_sum)."""
    correct, weight = totals.correct, totals.weight
    if not weight > 0:
        keys = ["accuracy"] if is_classification(loss) else []
        return dict.fromkeys(keys + [k for k in metrics if k != "accuracy"], math.nan)
    if is_classification(loss):
        return {"accuracy": accuracy(loss, out_dim, correct, weight)}
    elements = float(weight) * out_dim
    values = {"mae": float(totals.abs_sum) / elements}
    if loss == "mse":
        values["mse"] = float(totals.data_sum) / elements
        values["rmse"] = math.sqrt(values["mse"])
    return {k: values[k] for k in metrics}
