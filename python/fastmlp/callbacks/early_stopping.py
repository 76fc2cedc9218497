"""``EarlyStopping``: stop when a monitored value stops improving."""
from __future__ import annotations

from numbers import Integral, Real

from fastmlp._validation import Interval, validate_params
from fastmlp.callbacks.monitor import MODE, MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model ends with the weights of its best epoch.

    ``mode="auto"`` maximizes metrics named like accuracy and minimizes the rest.
    """

    _constraints = {"monitor": [str], "patience": [Interval(Integral, 0, None)],
                    "min_delta": [Interval(Real, 0, None)], "restore_best_weights": ["boolean"],
                    "mode": MODE}
    _resumable = ("best", "best_epoch", "wait", "stopped_epoch", "best_weights")

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best_weights=True,
                 mode="auto"):
        validate_params("EarlyStopping", dict(monitor=monitor, patience=patience,
                                              min_delta=min_delta,
                                              restore_best_weights=restore_best_weights,
                                              mode=mode), self._constraints)
        self._init_monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = int(patience), restore_best_weights
        self._reset()

    def _reset(self):
        self.best = self._worst()
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = None
        self._warned = False

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        value = self._monitored(logs)
        if value is None:
            return False
        if self._improves(value) or self.best_epoch is None:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and self.model is not None:
                self.best_weights = self.model.get_weights()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
