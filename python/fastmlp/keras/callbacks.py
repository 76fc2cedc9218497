"""``keras.callbacks``: fastmlp's callbacks, with Keras' defaults where they differ."""
from __future__ import annotations

from fastmlp import callbacks as _fm
from fastmlp.keras._compat import refuse_unsupported

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "CSVLogger",
           "TerminateOnNaN", "ReduceLROnPlateau", "LearningRateScheduler"]

Callback, History, ModelCheckpoint = _fm.Callback, _fm.History, _fm.ModelCheckpoint
CSVLogger, TerminateOnNaN = _fm.CSVLogger, _fm.TerminateOnNaN


class ReduceLROnPlateau(_fm.ReduceLROnPlateau):
    """Keras' defaults (``factor=0.1, patience=10``); logs the epoch's ``learning_rate`` (the
    rate before any reduction), so ``history.history["learning_rate"]`` exists, as in Keras."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model._current_lr)
        return super().on_epoch_end(epoch, logs)


class LearningRateScheduler(_fm.LearningRateScheduler):
    """``schedule(epoch)`` or ``schedule(epoch, lr)``; logs the epoch's ``learning_rate``, as
    Keras."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model._current_lr)
        return super().on_epoch_end(epoch, logs)


class EarlyStopping(_fm.EarlyStopping):
    """Keras' defaults: ``patience=0``, ``restore_best_weights=False``."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        refuse_unsupported("EarlyStopping", baseline=baseline, start_from_epoch=start_from_epoch)
        super().__init__(monitor=monitor, patience=patience, min_delta=abs(min_delta),
                         restore_best_weights=restore_best_weights, mode=mode)
