"""What the callbacks that watch one logged value (EarlyStopping, ReduceLROnPlateau,
ModelCheckpoint) share."""
from __future__ import annotations

import math
import warnings
from numbers import Integral

from fastmlp._validation import Interval, Options
from fastmlp.callbacks.callback import Callback, fit_validates

__all__ = ["MonitorCallback", "MODE", "VERBOSE"]

MODE = [Options(("auto", "min", "max"))]
VERBOSE = [Interval(Integral, 0, None)]

class MonitorCallback(Callback):
    """What the callbacks that watch one logged value share: its direction (``_sign``: +1
    when lower is better; ``mode="auto"`` maximizes names containing "acc", like accuracy and
    val_accuracy, and minimizes the rest), the improvement test and one warning per ``fit``
    when the value is missing from the logs."""

    def _init_monitor(self, monitor, mode, min_delta):
        self.monitor, self.mode, self.min_delta = monitor, mode, float(min_delta)
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self._sign = 1.0 if mode == "min" else -1.0
        self.best = self._worst()
        self._warned = False

    def _worst(self) -> float:
        return math.inf * self._sign

    def _improves(self, value) -> bool:
        """Better than ``best`` by more than ``min_delta`` (NaN never is)."""
        return self._sign * (value - self.best) < -self.min_delta

    def _monitored(self, logs, hint="pass validation data or another monitor"):
        value = (logs or {}).get(self.monitor)
        if value is None and self.monitor.startswith("val_") and fit_validates(self.model):
            return None  # validation_freq > 1: this epoch was not validated; nothing to judge
        if value is None and not self._warned:
            warnings.warn(f"{type(self).__name__}: {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})}); {hint}", RuntimeWarning,
                          stacklevel=3)
            self._warned = True
        return value
