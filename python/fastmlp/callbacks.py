"""Callbacks called by ``fit`` once per epoch, and the ``History`` it returns.

The Keras ones keep Keras 3's names, defaults and rules (epochs are 0-based in the hooks,
1-based in messages and file names). ``fit`` records ``History`` before the other callbacks
run, so what they add to ``logs`` is not in ``history.history``.
"""
from __future__ import annotations

import csv
import inspect
import math
import os
import string
import warnings
from numbers import Integral, Real

from fastmlp._validation import Interval, Options, validate_params
from fastmlp.errors import InvalidParameterError

__all__ = ["Callback", "EarlyStopping", "LearningRateScheduler", "ReduceLROnPlateau",
           "ModelCheckpoint", "CSVLogger", "TerminateOnNaN", "History"]

_MODE = [Options(("auto", "min", "max"))]
_VERBOSE = [Interval(Integral, 0, None)]


def _validates(model) -> bool:
    """Whether the fit in progress has a dev set (some epochs may still skip it)."""
    history = getattr(model, "history", None)
    return bool(getattr(history, "params", {}).get("validation"))


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


class _MonitorCallback(Callback):
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
        if value is None and self.monitor.startswith("val_") and _validates(self.model):
            return None  # validation_freq > 1: this epoch was not validated; nothing to judge
        if value is None and not self._warned:
            warnings.warn(f"{type(self).__name__}: {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})}); {hint}", RuntimeWarning,
                          stacklevel=3)
            self._warned = True
        return value


class EarlyStopping(_MonitorCallback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model ends with the weights of its best epoch.

    ``mode="auto"`` maximizes metrics named like accuracy and minimizes the rest.
    """

    _constraints = {"monitor": [str], "patience": [Interval(Integral, 0, None)],
                    "min_delta": [Interval(Real, 0, None)], "restore_best_weights": ["boolean"],
                    "mode": _MODE}

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


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch)`` or
    ``schedule(epoch, lr)`` (Keras's signature)."""

    def __init__(self, schedule, verbose=0):
        validate_params("LearningRateScheduler", {"schedule": schedule, "verbose": verbose},
                        {"schedule": ["callable"], "verbose": _VERBOSE})
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


class ReduceLROnPlateau(_MonitorCallback):
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
                    "patience": [Interval(Integral, 0, None)], "verbose": _VERBOSE,
                    "mode": _MODE, "min_delta": [Interval(Real, 0, None)],
                    "cooldown": [Interval(Integral, 0, None)],
                    "min_lr": [Interval(Real, 0, None)]}

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


class ModelCheckpoint(_MonitorCallback):
    """Save the model with ``model.save`` (fastmlp's format: read it back with ``fm.load``)
    at the end of every epoch, or with ``save_best_only`` only when ``monitor`` beats the best
    value this callback has seen (kept across ``fit`` calls, as in Keras).

    ``filepath`` may hold ``str.format`` fields filled with ``epoch`` (1-based) and the epoch's
    logs, e.g. ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.fm"``; missing folders are created,
    and a field the logs lack is a KeyError (as in Keras). Only ``save_freq="epoch"``: fit
    calls callbacks once per epoch.
    """

    _constraints = {"filepath": [str, os.PathLike], "monitor": [str], "verbose": _VERBOSE,
                    "save_best_only": ["boolean"], "mode": _MODE}

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", save_freq="epoch"):
        validate_params("ModelCheckpoint", dict(filepath=filepath, monitor=monitor,
                                                verbose=verbose, save_best_only=save_best_only,
                                                mode=mode), self._constraints)
        if not (isinstance(save_freq, str) and save_freq == "epoch"):
            raise InvalidParameterError(
                f"The 'save_freq' parameter of ModelCheckpoint must be 'epoch' (fastmlp calls "
                f"callbacks once per epoch; saving every N batches is not supported). Got "
                f"{save_freq!r} instead.")
        filepath = os.fspath(filepath)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(filepath) if f is not None]
        except ValueError as e:
            raise InvalidParameterError(
                f"The 'filepath' parameter of ModelCheckpoint is not a valid format string "
                f"({e}): {filepath!r}; write a literal brace as {{{{ or }}}}") from None
        if any(f == "" or f.isdigit() for f in fields):
            raise InvalidParameterError(
                f"The 'filepath' parameter of ModelCheckpoint has a positional field ({{}}) in "
                f"{filepath!r}; name it, e.g. {{epoch:02d}} or {{val_loss:.3f}}")
        self._init_monitor(monitor, mode, 0.0)
        self.filepath, self.verbose = filepath, verbose
        self.save_best_only, self.save_freq = save_best_only, save_freq

    def on_train_begin(self, logs=None):
        self._warned = False

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(**{**logs, "epoch": epoch + 1})
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint cannot fill {{{e.args[0]}}} in {self.filepath!r}: "
                           f"epoch {epoch + 1} logged {sorted(logs)} (and epoch)") from None
        except (ValueError, IndexError, AttributeError) as e:
            raise ValueError(f"ModelCheckpoint cannot format {self.filepath!r} with epoch "
                             f"{epoch + 1}'s logs: {e}") from None

    def _save(self, path):
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not self.save_best_only:
            path = self._path(epoch, logs)
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            self._save(path)
            return False
        value = self._monitored(logs, "save_best_only saves nothing without it")
        if value is None:
            return False
        if self._improves(value):
            path = self._path(epoch, logs)
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{value:.5f}, saving model to {path}")
            self.best = value
            self._save(path)
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
        return False


class CSVLogger(Callback):
    """One row per epoch: ``epoch`` (0-based, as Keras writes it), then the logs' values under
    their keys in sorted order, the keys fixed by the first epoch plus the ``val_`` ones when
    ``fit`` validates (with ``validation_freq > 1`` the first epoch has none, as in Keras);
    a value missing in an epoch is written as ``NA``. The header is written once; ``append=True`` adds rows to an existing file and
    writes the header only when that file is new or empty. Each row is written by opening,
    appending and closing the file, so it is complete and closed after every epoch, even when
    ``fit`` ends with an exception.
    """

    def __init__(self, filename, separator=",", append=False):
        validate_params("CSVLogger", dict(filename=filename, separator=separator, append=append),
                        {"filename": [str, os.PathLike], "separator": [str],
                         "append": ["boolean"]})
        if len(separator) != 1 or separator in '"\r\n':
            raise InvalidParameterError(f"The 'separator' parameter of CSVLogger must be one "
                                        f"character other than a quote or a line break. Got "
                                        f"{separator!r} instead.")
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys = None
        self._header = True

    def on_train_begin(self, logs=None):
        self.keys = None
        with open(self.filename, "a" if self.append else "w", encoding="utf-8") as fh:
            self._header = os.fstat(fh.fileno()).st_size == 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if _validates(self.model) and not any(k.startswith("val_") for k in self.keys):
                # validation_freq > 1: the first epoch has no val_ keys, later ones will.
                self.keys = sorted(self.keys + ["val_" + k for k in self.keys])
        with open(self.filename, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, dialect="excel", delimiter=self.sep)
            if self._header:
                writer.writerow(["epoch"] + self.keys)
                self._header = False
            writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        return False


class TerminateOnNaN(Callback):
    """Stop training without an exception when the training loss stops being finite.

    Without it ``fit`` raises :class:`DivergenceError` in that epoch; with it ``fit`` prints
    Keras' "Invalid loss, terminating training" line and returns the history. Either way the
    model holds the weights from the start of the diverged epoch. It also stops after an epoch whose logged ``loss``
    is not finite (a value another callback put there), as in loops of your own.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {epoch + 1}: Invalid loss, terminating training")
            if self.model is not None:
                self.model.stop_training = True
            return True
        return False


class History(Callback):
    """What ``fit`` returns: ``history`` maps ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` (as available) to one value per epoch; ``epoch`` lists the epochs."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.logged_epochs: dict[str, list[int]] = {}
        self.params: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
            # which epochs each key was logged in (validation_freq > 1 skips val_ keys)
            self.logged_epochs.setdefault(k, []).append(epoch)
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
