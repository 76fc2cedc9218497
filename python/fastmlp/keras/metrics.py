"""``keras.metrics``: the metrics the engine reports, under Keras' names.

Strings (``"accuracy"``, ``"mae"``, ...) or these classes go in ``compile(metrics=[...])``, and
are logged under the name given (a string) or the metric's ``name`` (Keras' default names:
``sparse_categorical_accuracy``, ``mean_absolute_error``, ...), as Keras logs them.
"""
from __future__ import annotations

from fastmlp.keras._compat import missing_name

__all__ = ["Metric", "Accuracy", "SparseCategoricalAccuracy", "CategoricalAccuracy",
           "BinaryAccuracy", "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError",
           "get"]


class Metric:
    engine_name = ""
    default_name = ""

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name or self.engine_name

    def __repr__(self):
        return f"{type(self).__name__}()"


class Accuracy(Metric):
    engine_name = "accuracy"


class SparseCategoricalAccuracy(Accuracy):
    default_name = "sparse_categorical_accuracy"


class CategoricalAccuracy(Accuracy):
    default_name = "categorical_accuracy"


class BinaryAccuracy(Accuracy):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold != 0.5:
            raise ValueError(f"fastmlp.keras BinaryAccuracy thresholds at 0.5, got "
                             f"threshold={threshold!r}")
        super().__init__(name, dtype)


class MeanAbsoluteError(Metric):
    engine_name, default_name = "mae", "mean_absolute_error"


class MeanSquaredError(Metric):
    engine_name, default_name = "mse", "mean_squared_error"


class RootMeanSquaredError(Metric):
    engine_name, default_name = "rmse", "root_mean_squared_error"


def get(identifier) -> tuple:
    """``(the engine's metric name, the name Keras logs it under)`` of a Metric or a name
    (checked by compile)."""
    if isinstance(identifier, Metric):
        return identifier.engine_name, identifier.name
    if isinstance(identifier, str):
        return identifier, identifier
    raise ValueError(f"unknown metric {identifier!r}: fastmlp.keras takes metric names "
                     f"('accuracy', 'mae', 'mse', 'rmse', ...) or keras.metrics classes "
                     f"(custom metric functions are not supported)")


def __getattr__(name):
    # AUC, Precision, Recall, F1Score, ...: the engine reports only the metrics above.
    raise missing_name("keras.metrics", name, __all__)
