"""The per-epoch training loop behind ``Sequential.fit``.

Each epoch: learning rate (schedule, callbacks) -> ``net.fit_epoch`` (the whole epoch in C++,
GIL released) or the per-batch ``augment`` path -> dev-set evaluation (in the epochs
``validation_freq`` picks) -> History, callbacks, progress. Ctrl-C stops after the current
batch and returns the history so far; a non-finite training loss raises DivergenceError, the
model rolled back (in C++) to the start of the epoch that diverged.
"""
from __future__ import annotations

import math
import sys
import time
from numbers import Integral, Real

import numpy as np

from fastmlp import _core
from fastmlp._validation import Interval, Options, check_X, validate_params
from fastmlp.callbacks import Callback, History, TerminateOnNaN
from fastmlp.errors import DivergenceError, InvalidParameterError

__all__ = ["fit_model", "split_validation", "eval_batch_size", "validation_schedule"]

_FIT_CONSTRAINTS = {
    "epochs": [Interval(Integral, 0, None)],
    "batch_size": [None, Interval(Integral, 1, None)],
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "shuffle": ["boolean"],
    "verbose": [Options((0, 1, 2, "auto"))],
    "augment": [None, "callable"],
    "initial_epoch": [Interval(Integral, 0, None)],
}


def eval_batch_size(batch_size, n: int) -> int:
    """Rows per block for inference-mode evaluation (it only bounds memory)."""
    if batch_size is None:
        return max(1, min(n, 4096))
    validate_params("evaluate", {"batch_size": batch_size},
                    {"batch_size": [Interval(Integral, 1, None)]})
    return int(min(batch_size, n))


def split_validation(n: int, fraction: float, seed: int, labels: np.ndarray | None):
    """Shuffled (and, given 1-D labels, stratified) train/dev index split, both sorted."""
    n_val = int(round(n * fraction))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"validation_split={fraction} leaves {n - n_val} training and {n_val} "
                         f"validation samples out of {n}; both need at least one")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 - 7,)))
    if labels is not None:
        val = []
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val.append(idx[:int(round(len(idx) * fraction))])
        val = np.concatenate(val)
        if len(val) < 1 or len(val) >= n:   # tiny classes rounded away: fall back to plain
            val = rng.permutation(n)[:n_val]
    else:
        val = rng.permutation(n)[:n_val]
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


class _Progress:
    """verbose=1: per epoch, a progress bar over the samples (tqdm; a plain text line without
    it) with the running loss and metrics, fed from C++ every ~20 ms while the epoch runs,
    ending with the epoch's logs; verbose=2: one printed line per epoch; 0: nothing.
    ``metric_logs(totals)`` turns the running sums (``_core.Totals``) into metrics."""

    def __init__(self, verbose: int, epochs: int, n_samples: int, metric_logs=None):
        self.verbose, self.epochs, self.n = verbose, epochs, n_samples
        self.metric_logs = metric_logs
        self.bar = None
        self.tqdm = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            self.tqdm = tqdm

    @staticmethod
    def _fmt(logs):
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())

    def _running(self, totals):
        logs = {"loss": totals.loss}
        if self.metric_logs is not None and totals.weight > 0:
            logs.update(self.metric_logs(totals))
        return logs

    def start_epoch(self, epoch: int):
        """The callback for net.fit_epoch(progress=...), or None when nothing is drawn."""
        if self.verbose != 1:
            return None
        title = f"Epoch {epoch + 1}/{self.epochs}"
        if self.tqdm is not None:
            self.bar = self.tqdm(total=self.n, desc=title, unit="sample", leave=True,
                                 dynamic_ncols=True)

            def on_progress(totals):   # the epoch's running _core.Totals
                self.bar.set_postfix({k: f"{v:.4f}" for k, v in
                                      self._running(totals).items()}, refresh=False)
                self.bar.update(max(0, totals.count - self.bar.n))
        else:
            def on_progress(totals):
                self._text_line(title, totals.count, self._running(totals), "")
        return on_progress

    def _text_line(self, title, count, logs, end):
        done = int(30 * min(count, self.n) / max(self.n, 1))
        sys.stdout.write(f"\r{title} [{'=' * done}{'.' * (30 - done)}] {self._fmt(logs)}{end}")
        sys.stdout.flush()

    def update(self, epoch: int, logs: dict, seconds: float):
        if self.verbose == 0:
            return
        if self.verbose == 2:
            print(f"Epoch {epoch + 1}/{self.epochs} - {seconds:.2f}s - {self._fmt(logs)}",
                  flush=True)
        elif self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            self.bar.update(max(0, self.n - self.bar.n))
            self.bar.close()
            self.bar = None
        else:
            self._text_line(f"Epoch {epoch + 1}/{self.epochs}", self.n, logs,
                            f" - {seconds:.2f}s\n")

    def message(self, text: str):
        if self.verbose:
            (self.bar.write if self.bar is not None else print)(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def validation_schedule(validation_freq):
    """``fit(validation_freq=...)`` as a test on the 0-based epoch, Keras' rule: an int ``k``
    validates the epochs whose 1-based number is a multiple of ``k``; a list or tuple of
    1-based epoch numbers (Keras 2's form, still accepted by Keras 3) validates those."""
    is_int = isinstance(validation_freq, Integral)
    if is_int and not isinstance(validation_freq, (bool, np.bool_)):
        if validation_freq < 1:
            raise InvalidParameterError(
                f"The 'validation_freq' parameter of fit must be an int >= 1 (validate every "
                f"k-th epoch) or a list of 1-based epoch numbers. Got {validation_freq!r} "
                f"instead.")
        k = int(validation_freq)
        return lambda epoch: (epoch + 1) % k == 0
    if isinstance(validation_freq, (list, tuple)):
        for e in validation_freq:
            if not isinstance(e, Integral) or isinstance(e, (bool, np.bool_)) or e < 1:
                raise InvalidParameterError(
                    f"The 'validation_freq' parameter of fit, as a list, must hold 1-based "
                    f"epoch numbers (ints >= 1). Got {e!r} in {validation_freq!r}.")
        chosen = frozenset(int(e) for e in validation_freq)
        return lambda epoch: epoch + 1 in chosen
    raise InvalidParameterError(
        f"The 'validation_freq' parameter of fit must be an int >= 1 or a list of 1-based "
        f"epoch numbers. Got {validation_freq!r} instead.")


def _check_callbacks(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise InvalidParameterError("callbacks must be a list of fm.Callback objects") from None
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise InvalidParameterError(
                f"callbacks must be fm.Callback objects, got {type(cb).__name__}")
    return callbacks


def _augment_epoch(model, X, y, sw, batch_size, shuffle, epoch, augment):
    """The slower per-batch path: ``augment(X_batch, rng)`` then one ``train_batch``, whose
    totals add up as fit_epoch's do in C++. Returns ``(totals, nonfinite)``; on divergence the
    network is rolled back to the start of the epoch, as fit_epoch does."""
    net = model._net
    rng = np.random.default_rng(np.random.SeedSequence(model._seed, spawn_key=(2**31 - 1,
                                                                                epoch)))
    n = len(X)
    order = rng.permutation(n) if shuffle else np.arange(n)
    totals = _core.Totals()
    net.checkpoint()
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        Xb = augment(X[idx], rng)
        Xb = check_X(Xb, model._dtype, model._input_dim, name="augment(X_batch, rng)")
        if len(Xb) != len(idx):
            raise ValueError(f"augment returned {len(Xb)} rows for a batch of {len(idx)}")
        yb = np.ascontiguousarray(y[idx])
        wb = None if sw is None else np.ascontiguousarray(sw[idx])
        step = net.train_batch(Xb, yb, wb, details=True)
        if not math.isfinite(step.loss):
            net.rollback()
            return totals, True
        totals.add(step)
    return totals, False


def fit_model(model, X, y, epochs=1, batch_size=32, validation_split=0.0,
              validation_data=None, shuffle=True, callbacks=None, verbose=1, augment=None,
              sample_weight=None, class_weight=None, initial_epoch=0, validation_freq=1):
    """See :meth:`fastmlp.Sequential.fit`."""
    model._require_compiled("fit")
    validate_params("fit", dict(epochs=epochs, batch_size=batch_size,
                                validation_split=validation_split, shuffle=shuffle,
                                verbose=verbose, augment=augment, initial_epoch=initial_epoch),
                    _FIT_CONSTRAINTS)
    should_validate = validation_schedule(validation_freq)
    verbose = 1 if verbose == "auto" else int(verbose)
    batch_size = 32 if batch_size is None else int(batch_size)
    callbacks = _check_callbacks(callbacks)
    loss_name = model._compile_args[0]

    X, y = model._check_xy(X, y)
    sw = model._sample_weight(sample_weight, class_weight, y)
    swv = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise InvalidParameterError("validation_data must be a pair (X_dev, y_dev) or a "
                                        "triple (X_dev, y_dev, sample_weight_dev)")
        Xv, yv = model._check_xy(validation_data[0], validation_data[1], "validation_data[0]",
                                 "validation_data[1]")
        if len(validation_data) == 3 and validation_data[2] is not None:
            swv = model._sample_weight(validation_data[2], None, yv, "validation_data[2]")
    elif validation_split > 0:
        labels = y if (loss_name == "cross_entropy" and y.ndim == 1) else None
        tr, va = split_validation(len(X), float(validation_split), model._seed, labels)
        Xv, yv = X[va], y[va]
        X, y = X[tr], y[tr]     # the one copy fit makes: the training rows, contiguous
        if sw is not None:
            sw, swv = sw[tr], sw[va]
            if not (sw.sum() > 0 and swv.sum() > 0):
                raise ValueError("after validation_split, sample_weight is 0 on every "
                                 f"{'training' if not sw.sum() > 0 else 'validation'} sample")
    else:
        Xv = yv = None
    model._fit_standardize(X)
    batch_size = min(batch_size, len(X))

    history = History()
    history.params = {"epochs": epochs, "batch_size": batch_size, "samples": len(X),
                      "validation": Xv is not None}
    history.set_model(model)
    model.history = history
    model.stop_training = False
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin({})

    progress = _Progress(verbose, epochs, len(X), model._metric_logs)
    net, optimizer = model._net, model._compile_args[1]
    # Two epoch numbers: Keras' ``epoch`` (initial_epoch .. epochs-1), which callbacks, History
    # and the progress line see, and the engine's, ``model._epoch``, a count kept across fit
    # calls that picks the shuffle stream and the schedule's lr. initial_epoch=0 (the default)
    # leaves that count running, as before: a second fit continues the schedule and draws new
    # shuffles, as Keras' optimizer step count continues. initial_epoch > 0 declares "resume at
    # this epoch", so the engine counts from it too: schedules, LearningRateScheduler and the
    # shuffles all see the same numbers as the callbacks, and fit(epochs=10, initial_epoch=5)
    # after 5 epochs repeats epochs 5..9 of one fit(epochs=10) bit for bit, even on a model
    # whose count says otherwise (weights restored into a fresh model, say).
    engine_offset = (model._epoch if initial_epoch == 0 else initial_epoch) - initial_epoch
    diverged = None
    try:
        for epoch in range(initial_epoch, epochs):
            t0 = time.perf_counter()
            global_epoch = engine_offset + epoch
            if callable(optimizer.lr):
                model._set_lr(optimizer.lr_at(global_epoch))
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            if augment is None:
                result = net.fit_epoch(X, y, batch_size, bool(shuffle), int(global_epoch),
                                       progress=progress.start_epoch(epoch),
                                       sample_weight=sw)
                totals, nonfinite, interrupted = (result.totals, result.nonfinite,
                                                  result.interrupted)
            else:
                totals, nonfinite = _augment_epoch(model, X, y, sw, batch_size, shuffle,
                                                   global_epoch, augment)
                interrupted = False
            model._epoch = global_epoch + 1
            if nonfinite:       # the engine rolled the model back to the epoch's start
                diverged = epoch
                break
            if totals.count == 0:      # interrupted before the first batch
                progress.message("Interrupted: training stopped.")
                break
            logs = {"loss": float(totals.loss)}
            logs.update(model._metric_logs(totals))
            # Epochs that skip validation log no val_ keys at all (as Keras): History's val_
            # lists are then shorter than its loss list, and monitors of val_ keys skip them.
            if Xv is not None and should_validate(epoch):
                for k, v in model._evaluate_arrays(Xv, yv, sample_weight=swv).items():
                    logs["val_" + k] = v
            history.on_epoch_end(epoch, logs)
            stop = False
            for cb in callbacks:
                stop = bool(cb.on_epoch_end(epoch, logs)) or stop
            progress.update(epoch, logs, time.perf_counter() - t0)
            if interrupted:
                progress.message("Interrupted: training stopped after the current batch.")
                break
            if stop or model.stop_training:
                break
    except KeyboardInterrupt:
        progress.message("Interrupted: training stopped.")
    finally:
        progress.close()
    if diverged is not None and any(isinstance(cb, TerminateOnNaN) for cb in callbacks):
        # Keras' contract for TerminateOnNaN: stop and return, no exception (the model holds
        # the weights from the start of the diverged epoch either way).
        print(f"Epoch {diverged + 1}: Invalid loss, terminating training", flush=True)
        model.stop_training = True
        diverged = None
    if diverged is not None:
        raise DivergenceError(
            f"the training loss became non-finite (NaN or infinity) in epoch {diverged + 1}; "
            f"training stopped and the model holds the weights from the start of that epoch. "
            f"Try a lower "
            f"learning rate (it was {model._current_lr:g}), standardized inputs, or gradient-"
            f"friendlier initialization.", epoch=diverged, history=history)
    for cb in callbacks:
        cb.on_train_end({})
    return history
