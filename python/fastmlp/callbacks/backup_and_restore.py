"""``BackupAndRestore``: resume a killed ``fit`` from its last epoch-end backup (Keras' name and
semantics).

One file, ``<backup_dir>/backup.npz``, written at every epoch end as a temporary file then
``os.replace``d over the old one, so a kill at any instant leaves either the previous backup or
the new one, never half of one. It holds arrays only (read back with ``allow_pickle=False``:
loading never runs code): the weights (``get_weights()`` order), the optimizer state arrays,
the arrays of callbacks' state (EarlyStopping's best weights), and ``meta``, a UTF-8 JSON
document as bytes: the epoch to resume at, the engine's epoch count and step (which key the
shuffles, dropout and noise streams), the learning rate, the History so far and the
callbacks' scalar state.
"""
from __future__ import annotations

import io
import json
import os

import numpy as np

from fastmlp._validation import validate_params
from fastmlp.callbacks.callback import Callback
from fastmlp.errors import InvalidParameterError

__all__ = ["BackupAndRestore"]

_FORMAT = "fastmlp-backup"
_VERSION = 1
_FILE = "backup.npz"


class BackupAndRestore(Callback):
    """Back up the training state at every epoch end; a ``fit`` restarted after a crash (the
    same call, the same callback directory) resumes from the last backup and ends bit-identical
    to a run that never stopped: weights, optimizer state and step, the shuffle, dropout and
    noise streams, the learning rate (ReduceLROnPlateau's too), History, and the state of
    EarlyStopping, ReduceLROnPlateau and ModelCheckpoint.

    Parameters
    ----------
    backup_dir : str or path
        Where ``backup.npz`` lives (created when missing). Use one directory per training job.
    save_freq : "epoch"
        Only epoch-end backups: fit calls callbacks once per epoch.
    delete_checkpoint : bool
        Delete the backup when ``fit`` completes (stopped early by a callback included); a run
        interrupted with Ctrl-C keeps it.

    Under ``fit(..., distributed=comm)`` rank 0 writes and every rank restores (the directory
    must be shared by the ranks).
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        validate_params("BackupAndRestore", dict(backup_dir=backup_dir,
                                                 delete_checkpoint=delete_checkpoint),
                        {"backup_dir": [str, os.PathLike], "delete_checkpoint": ["boolean"]})
        if save_freq != "epoch":
            raise InvalidParameterError(
                f"BackupAndRestore supports save_freq='epoch' only (fit calls callbacks once per "
                f"epoch), got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._callbacks = []

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, _FILE)

    def _writes(self) -> bool:
        comm = getattr(self.model, "_comm", None)
        return comm is None or comm.rank == 0

    # ---------------------------------------------------------------- hooks

    def after_train_begin(self, callbacks) -> None:
        """Called by ``fit`` once every callback's ``on_train_begin`` has run (so restored
        callback state is not reset): restores the backup, if any, and tells fit where to
        resume."""
        self._callbacks = [cb for cb in callbacks if cb is not self]
        if not os.path.exists(self.path):
            return
        arrays, meta = _read(self.path)
        model = self.model
        n_w, n_opt = meta["n_weights"], meta["n_opt"]
        model.set_weights([arrays[f"w{i}"] for i in range(n_w)])
        model.set_optimizer_state({"step": meta["step"], "epoch": meta["engine_epoch"],
                                   "arrays": [arrays[f"opt{i}"] for i in range(n_opt)]})
        if meta["lr"] is not None:
            model._set_lr(meta["lr"])
        history = model.history
        history.history = meta["history"]
        history.epoch = meta["history_epochs"]
        history.logged_epochs = meta["logged_epochs"]
        for k, state in enumerate(meta["callbacks"]):
            if k < len(self._callbacks) and type(self._callbacks[k]).__name__ == state["class"]:
                _restore_callback(self._callbacks[k], state, arrays, k)
        model._fit_progress["resume"] = (meta["epoch"], meta["engine_offset"])

    def after_epoch_end(self, epoch, logs=None):
        # After the other callbacks and History (CallbackList.after_epoch_end): the backup
        # holds the epoch's History entry and every callback's state after this epoch.
        if not self._writes():
            return
        model = self.model
        arrays = {}
        weights = model.get_weights()
        for i, w in enumerate(weights):
            arrays[f"w{i}"] = w
        opt = model.get_optimizer_state()
        for i, a in enumerate(opt["arrays"]):
            arrays[f"opt{i}"] = a
        history = model.history
        meta = {
            "format": _FORMAT, "version": _VERSION,
            "epoch": epoch + 1, "engine_offset": model._fit_progress["engine_offset"],
            "engine_epoch": opt["epoch"], "step": opt["step"],
            "lr": None if model._current_lr is None else float(model._current_lr),
            "n_weights": len(weights), "n_opt": len(opt["arrays"]),
            "history": history.history, "history_epochs": history.epoch,
            "logged_epochs": history.logged_epochs,
            "callbacks": [_callback_state(cb, arrays, k)
                          for k, cb in enumerate(self._callbacks)],
        }
        _write_atomic(self.path, arrays, meta)

    def on_train_end(self, logs=None):
        interrupted = self.model._fit_progress.get("interrupted", False)
        if self.delete_checkpoint and not interrupted and self._writes():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass


def _callback_state(cb, arrays: dict, k: int) -> dict:
    """The attributes ``cb._resumable`` names: scalars into the JSON, lists of arrays (best
    weights) into ``arrays`` as ``cb<k>_<name>_<i>``."""
    state = {"class": type(cb).__name__, "scalars": {}, "arrays": {}}
    for name in getattr(cb, "_resumable", ()):
        value = getattr(cb, name, None)
        if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            for i, a in enumerate(value):
                arrays[f"cb{k}_{name}_{i}"] = a
            state["arrays"][name] = len(value)
        else:
            state["scalars"][name] = value.item() if isinstance(value, np.generic) else value
    return state


def _restore_callback(cb, state: dict, arrays: dict, k: int) -> None:
    for name, value in state["scalars"].items():
        setattr(cb, name, value)
    for name, count in state["arrays"].items():
        setattr(cb, name, [arrays[f"cb{k}_{name}_{i}"] for i in range(count)])


def _write_atomic(path: str, arrays: dict, meta: dict) -> None:
    """``arrays`` and ``meta`` (as JSON bytes) into one .npz, through a temporary file and
    ``os.replace`` (atomic on POSIX and Windows), fsynced so a machine crash keeps it too."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    buf = io.BytesIO()
    meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, meta=meta_bytes, **arrays)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(buf.getbuffer())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read(path: str) -> tuple[dict, dict]:
    """The arrays and the meta document of a backup (ValueError when it is not one)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path} is not a readable fastmlp backup: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a fastmlp backup (no '{_FORMAT}' meta)")
    if meta.get("version") != _VERSION:
        raise ValueError(f"{path} has backup version {meta.get('version')}; this fastmlp reads "
                         f"version {_VERSION}")
    return arrays, meta
