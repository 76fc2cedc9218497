"""``Callback``, the hooks ``fit`` calls, and ``CallbackList``, which calls them in order."""
from __future__ import annotations

from fastmlp.errors import InvalidParameterError

__all__ = ["Callback", "CallbackList", "fit_validates"]


def fit_validates(model) -> bool:
    """Whether the fit in progress has a dev set (some epochs may still skip it)."""
    history = getattr(model, "history", None)
    return bool(getattr(history, "params", {}).get("validation"))


class Callback:
    """Base class. ``fit`` calls ``set_model`` once, then the hooks; ``on_epoch_end`` returning
    True (or setting ``model.stop_training = True``) stops training after that epoch."""

    model = None
    # Attributes BackupAndRestore saves and restores: JSON scalars, or lists of arrays.
    _resumable: tuple = ()

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


class CallbackList:
    """The callbacks of one ``fit``, called in order (Keras' ``CallbackList``).

    ``callbacks``: None, one Callback or a list of them (anything else is an
    InvalidParameterError). ``on_epoch_end`` calls every callback, then says whether any asked
    to stop.
    """

    def __init__(self, callbacks=None):
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        try:
            callbacks = list(callbacks)
        except TypeError:
            raise InvalidParameterError(
                "callbacks must be a list of fm.Callback objects") from None
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise InvalidParameterError(
                    f"callbacks must be fm.Callback objects, got {type(cb).__name__}")
        self.callbacks = callbacks

    def __iter__(self):
        return iter(self.callbacks)

    def has(self, cls) -> bool:
        """Whether one of the callbacks is a ``cls``."""
        return any(isinstance(cb, cls) for cb in self.callbacks)

    def set_model(self, model):
        for cb in self.callbacks:
            cb.set_model(model)

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)
        # Restoring a backup comes after every callback's own reset (BackupAndRestore).
        for cb in self.callbacks:
            if hasattr(cb, "after_train_begin"):
                cb.after_train_begin(self.callbacks)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None) -> bool:
        stop = False
        for cb in self.callbacks:
            stop = bool(cb.on_epoch_end(epoch, logs)) or stop
        return stop

    def after_epoch_end(self, epoch, logs=None):
        """After every callback's ``on_epoch_end`` and History's record of the epoch: what
        saves the state of a finished epoch (BackupAndRestore) sees all of it."""
        for cb in self.callbacks:
            if hasattr(cb, "after_epoch_end"):
                cb.after_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)
