"""Callbacks that set the learning rate: ``LearningRateScheduler``, ``ReduceLROnPlateau``."""
from __future__ import annotations

import inspect
import math
from numbers import Integral, Real

from fastmlp._validation import Interval, validate_params
from fastmlp.callbacks.callback import Callback
from fastmlp.callbacks.monitor import MODE, VERBOSE, MonitorCallback
from fastmlp.errors import InvalidParameterError


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch)`` or
    ``schedule(epoch, lr)`` (Keras's signature)."""

    def __init__(self, schedule, verbose=0):
        validate_params("LearningRateScheduler", {"schedule": schedule, "verbose": verbose},
                        {"schedule": ["callable"], "verbose": VERBOSE})
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


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs, never below ``min_lr`` (a rate already at or below
    it is left alone), then skip ``cooldown`` epochs before counting again.

    Keras's rule exactly: the cooldown counter drops at the start of each epoch's check, so
    counting resumes in the last cooldown epoch (``cooldown=1`` acts like 0). The new rate is
    set as LearningRateScheduler sets one (``model._set_lr``): it applies from the next epoch
    and stays after ``fit``. It needs a constant ``lr``: ``fit`` would reset a schedule's rate
    every epoch, so a schedule (or callable) ``lr`` is a ValueError when training begins.
    """

    _constraints = {"monitor": [str], "factor": [Interval(Real, 0, 1, closed="neither")],
                    "patience": [Interval(Integral, 0, None)], "verbose": VERBOSE,
                    "mode": MODE, "min_delta": [Interval(Real, 0, None)],
                    "cooldown": [Interval(Integral, 0, None)],
                    "min_lr": [Interval(Real, 0, None)]}

    _resumable = ("best", "wait", "cooldown_counter")

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        validate_params("ReduceLROnPlateau", dict(
            monitor=monitor, factor=factor, patience=patience, verbose=verbose, mode=mode,
            min_delta=min_delta, cooldown=cooldown, min_lr=min_lr), self._constraints)
        if not math.isfinite(min_lr):
            raise InvalidParameterError(f"The 'min_lr' parameter of ReduceLROnPlateau must be "
                                        f"a finite float >= 0. Got {min_lr!r} instead.")
        self._init_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = float(factor), int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if callable(optimizer.lr):
            raise ValueError(
                f"ReduceLROnPlateau needs a constant learning rate, but the optimizer's lr is "
                f"{optimizer.lr!r}: fit sets a schedule's rate at every epoch, which would undo "
                f"the reductions. Compile with a number (e.g. {type(optimizer).__name__}"
                f"(lr=1e-3)) or use the schedule alone.")
        self.best, self.wait, self.cooldown_counter, self._warned = self._worst(), 0, 0, False

    def on_epoch_end(self, epoch, logs=None):
        value = self._monitored(logs)
        if value is None:
            return False
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improves(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            old = self.model._current_lr
            if self.wait >= self.patience and old > self.min_lr:
                new = max(old * self.factor, self.min_lr)
                self.model._set_lr(new, what=f"ReduceLROnPlateau's rate at epoch {epoch}")
                self.cooldown_counter, self.wait = self.cooldown, 0
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new:.6g}.")
        return False
