"""Callbacks called by ``fit`` once per epoch, and the ``History`` it returns."""
from __future__ import annotations

import inspect
import math
import warnings
from numbers import Integral, Real

from fastmlp._validation import Interval, Options, validate_params

__all__ = ["Callback", "EarlyStopping", "LearningRateScheduler", "History"]


class Callback:
    """Base class. ``fit`` calls ``set_model`` once, then the hooks; ``on_epoch_end`` returning
    True (or setting ``model.stop_training = True``) stops training after that epoch."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        return False

    def on_train_end(self, logs=None):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model ends with the weights of its best epoch.

    ``mode="auto"`` maximizes metrics named like accuracy and minimizes the rest.
    """

    _constraints = {"monitor": [str], "patience": [Interval(Integral, 0, None)],
                    "min_delta": [Interval(Real, 0, None)], "restore_best_weights": ["boolean"],
                    "mode": [Options(("auto", "min", "max"))]}

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best_weights=True,
                 mode="auto"):
        validate_params("EarlyStopping", dict(monitor=monitor, patience=patience,
                                              min_delta=min_delta,
                                              restore_best_weights=restore_best_weights,
                                              mode=mode), self._constraints)
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best_weights, self.mode = restore_best_weights, mode
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self._sign = 1.0 if mode == "min" else -1.0
        self._reset()

    def _reset(self):
        self.best = math.inf * self._sign
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = None
        self._warned = False

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            if not self._warned:
                warnings.warn(f"EarlyStopping: {self.monitor!r} is not in the logs (available: "
                              f"{sorted(logs or {})}); pass validation data or another monitor",
                              RuntimeWarning, stacklevel=2)
                self._warned = True
            return False
        if self._sign * (value - self.best) < -self.min_delta or self.best_epoch is None:
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


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch)`` or
    ``schedule(epoch, lr)`` (Keras's signature)."""

    def __init__(self, schedule, verbose=0):
        validate_params("LearningRateScheduler", {"schedule": schedule, "verbose": verbose},
                        {"schedule": ["callable"], "verbose": [Interval(Integral, 0, None)]})
        self.schedule, self.verbose = schedule, verbose
        try:
            n = len([p for p in inspect.signature(schedule).parameters.values()
                     if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                            p.POSITIONAL_OR_KEYWORD)])
        except (TypeError, ValueError):
            n = 1
        self._two_args = n >= 2

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.model._current_lr
        new = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        self.model._set_lr(new, what=f"LearningRateScheduler's schedule at epoch {epoch}")
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate set to {self.model._current_lr:.6g}")


class History(Callback):
    """What ``fit`` returns: ``history`` maps ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` (as available) to one value per epoch; ``epoch`` lists the epochs."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        return False

    def plot(self, path=None):
        """Learning curves (train and dev loss, accuracy); written to ``path`` if given.
        Needs matplotlib (``pip install fastmlp[plot]``). Returns the figure."""
        from fastmlp.plotting import plot_history

        return plot_history(self, path)

    def diagnose(self, baseline_error=0.0) -> str:
        """Bias/variance diagnosis from the last epoch: error = 1 - accuracy for
        classification, the loss otherwise; needs validation data."""
        from fastmlp.check import diagnose

        h = self.history
        if "val_accuracy" in h and "accuracy" in h:
            train, dev = 1.0 - h["accuracy"][-1], 1.0 - h["val_accuracy"][-1]
        elif "val_loss" in h and "loss" in h:
            train, dev = h["loss"][-1], h["val_loss"][-1]
        else:
            raise ValueError("History.diagnose needs a dev-set error: fit with validation_split "
                             "or validation_data")
        return diagnose(train, dev, baseline_error)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
