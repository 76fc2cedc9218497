"""``keras.metrics``: the metrics the engine reports, under Keras' names.

Strings (``"accuracy"``, ``"mae"``, ...) or these classes go in ``compile(metrics=[...])``.
Classification losses report ``"accuracy"`` whichever accuracy name was asked for.
"""
from __future__ import annotations

__all__ = ["Metric", "Accuracy", "SparseCategoricalAccuracy", "CategoricalAccuracy",
           "BinaryAccuracy", "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError",
           "get"]


class Metric:
    engine_name = ""

    def __init__(self, name=None, dtype=None):
        self.name = name or self.engine_name

    def __repr__(self):
        return f"{type(self).__name__}()"


class Accuracy(Metric):
    engine_name = "accuracy"


class SparseCategoricalAccuracy(Accuracy):
    pass


class CategoricalAccuracy(Accuracy):
    pass


class BinaryAccuracy(Accuracy):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold != 0.5:
            raise ValueError(f"fastmlp.keras BinaryAccuracy thresholds at 0.5, got "
                             f"threshold={threshold!r}")
        super().__init__(name, dtype)


class MeanAbsoluteError(Metric):
    engine_name = "mae"


class MeanSquaredError(Metric):
    engine_name = "mse"


class RootMeanSquaredError(Metric):
    engine_name = "rmse"


def get(identifier) -> str:
    """The engine's metric name of a Metric or a name (checked by compile)."""
    if isinstance(identifier, Metric):
        return identifier.engine_name
    if isinstance(identifier, str):
        return identifier
    raise ValueError(f"unknown metric {identifier!r}: fastmlp.keras takes metric names "
                     f"('accuracy', 'mae', 'mse', 'rmse', ...) or keras.metrics classes "
                     f"(custom metric functions are not supported)")
