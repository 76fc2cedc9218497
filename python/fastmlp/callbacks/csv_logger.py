"""``CSVLogger``: one CSV row per epoch."""
from __future__ import annotations

import csv
import os

from fastmlp._validation import validate_params
from fastmlp.callbacks.callback import Callback, fit_validates
from fastmlp.errors import InvalidParameterError


class CSVLogger(Callback):
    """One row per epoch: ``epoch`` (0-based, as Keras writes it), then the logs' values under
    their keys in sorted order, the keys fixed by the first epoch plus the ``val_`` ones when
    ``fit`` validates (with ``validation_freq > 1`` the first epoch has none, as in Keras);
    a value missing in an epoch is written as ``NA``. The header is written once;
    ``append=True`` adds rows to an existing file and writes the header only when that file is
    new or empty. Each row is written by opening,
    appending and closing the file, so it is complete and closed after every epoch, even when
    ``fit`` ends with an exception.
    """

    _rank0_only = True  # distributed fit: only rank 0 writes files

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
            if fit_validates(self.model) and not any(k.startswith("val_") for k in self.keys):
                # validation_freq > 1: the first epoch has no val_ keys, later ones will.
                self.keys = sorted(self.keys + ["val_" + k for k in self.keys])
        with open(self.filename, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, dialect="excel", delimiter=self.sep)
            if self._header:
                writer.writerow(["epoch"] + self.keys)
                self._header = False
            writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        return False
