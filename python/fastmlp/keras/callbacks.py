"""``keras.callbacks``: fastmlp's callbacks, with Keras' defaults where they differ."""
from __future__ import annotations

import os

from fastmlp import callbacks as _fm
from fastmlp.keras._compat import refuse_unsupported

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "CSVLogger",
           "TerminateOnNaN", "ReduceLROnPlateau", "LearningRateScheduler", "BackupAndRestore"]

Callback, History = _fm.Callback, _fm.History
CSVLogger, TerminateOnNaN = _fm.CSVLogger, _fm.TerminateOnNaN


class ModelCheckpoint(_fm.ModelCheckpoint):
    """Keras' arguments; ``save_weights_only=True`` writes with ``model.save_weights`` (read
    back with ``model.load_weights``). Files are fastmlp's format whatever the extension."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        refuse_unsupported("ModelCheckpoint", initial_value_threshold=initial_value_threshold)
        super().__init__(filepath, monitor=monitor, verbose=verbose,
                         save_best_only=save_best_only, mode=mode, save_freq=save_freq)
        self.save_weights_only = bool(save_weights_only)

    def _save(self, path):
        if not self.save_weights_only:
            return super()._save(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save_weights(path)


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


class BackupAndRestore(_fm.BackupAndRestore):
    """Keras' signature; ``double_checkpoint=True`` is refused (the one backup file is replaced
    atomically, so a crash mid-write already leaves the previous backup whole)."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        refuse_unsupported("BackupAndRestore", double_checkpoint=double_checkpoint)
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
