"""``keras.callbacks``: fastmlp's callbacks, with Keras' defaults where they differ."""
from __future__ import annotations

from fastmlp import callbacks as _fm
from fastmlp.keras._compat import refuse_unsupported

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "CSVLogger",
           "TerminateOnNaN", "ReduceLROnPlateau", "LearningRateScheduler", "BackupAndRestore"]

Callback, History, ModelCheckpoint = _fm.Callback, _fm.History, _fm.ModelCheckpoint
CSVLogger, TerminateOnNaN = _fm.CSVLogger, _fm.TerminateOnNaN
ReduceLROnPlateau, LearningRateScheduler = _fm.ReduceLROnPlateau, _fm.LearningRateScheduler


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
