"""``ModelCheckpoint``: save the model every epoch, or when a monitored value improves."""
from __future__ import annotations

import os
import string

from fastmlp._validation import validate_params
from fastmlp.callbacks.monitor import MODE, VERBOSE, MonitorCallback
from fastmlp.errors import InvalidParameterError


class ModelCheckpoint(MonitorCallback):
    """Save the model with ``model.save`` (fastmlp's format: read it back with ``fm.load``)
    at the end of every epoch, or with ``save_best_only`` only when ``monitor`` beats the best
    value this callback has seen (kept across ``fit`` calls, as in Keras).

    ``filepath`` may hold ``str.format`` fields filled with ``epoch`` (1-based) and the epoch's
    logs, e.g. ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.fm"``; missing folders are created,
    and a field the logs lack is a KeyError (as in Keras). Only ``save_freq="epoch"``: fit
    calls callbacks once per epoch.
    """

    _constraints = {"filepath": [str, os.PathLike], "monitor": [str], "verbose": VERBOSE,
                    "save_best_only": ["boolean"], "mode": MODE}
    _resumable = ("best",)
    _rank0_only = True  # distributed fit: only rank 0 writes files

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
