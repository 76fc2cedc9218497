"""Callbacks called by ``fit`` once per epoch, and the ``History`` it returns.

The Keras ones keep Keras 3's names, defaults and rules (epochs are 0-based in the hooks,
1-based in messages and file names). ``fit`` records ``History`` before the other callbacks
run, so what they add to ``logs`` is not in ``history.history``. One callback a module, as in
Keras' ``callbacks/``; ``CallbackList`` calls them in order.
"""
from fastmlp.callbacks.backup_and_restore import BackupAndRestore
from fastmlp.callbacks.callback import Callback, CallbackList
from fastmlp.callbacks.csv_logger import CSVLogger
from fastmlp.callbacks.early_stopping import EarlyStopping
from fastmlp.callbacks.history import History
from fastmlp.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from fastmlp.callbacks.model_checkpoint import ModelCheckpoint
from fastmlp.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "EarlyStopping", "LearningRateScheduler",
           "ReduceLROnPlateau", "ModelCheckpoint", "CSVLogger", "TerminateOnNaN", "History",
           "BackupAndRestore"]
