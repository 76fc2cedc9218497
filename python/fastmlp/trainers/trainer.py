"""``Trainer``: compile, fit and evaluate -- the training half of ``Sequential``, its base class
(as Keras' ``Model`` inherits its ``Trainer``).

Each epoch of ``fit``: learning rate (schedule, callbacks) -> ``net.fit_epoch`` (the whole epoch
in C++, GIL released) or the per-batch ``augment`` path -> dev-set evaluation (in the epochs
``validation_freq`` picks) -> History, callbacks, progress. Ctrl-C stops after the current
batch and returns the history so far; a non-finite training loss raises DivergenceError, the
model rolled back (in C++) to the start of the epoch that diverged.

What the model class provides (``Sequential`` does): ``_net`` (the engine's network once
built, else None), ``_lock``, ``dtype``, ``seed``, ``input_dim``, ``output_dim``, ``layers``,
``_convert_X(X, name)`` (checks and converts X, building the network),
``_check_output_layer(layers, loss)`` and ``_fit_standardize(X, comm=None)``; it calls
``_init_trainer()`` in its constructor and ``_compile_engine(net)`` when it builds a network
after ``compile``.
"""
from __future__ import annotations

import math
import time
from numbers import Integral, Real

import numpy as np

from fastmlp import _core
from fastmlp._validation import Interval, Options, batch_rows, check_X, validate_params
from fastmlp.callbacks import CallbackList, History, TerminateOnNaN
from fastmlp.distributed import (
    GlobalTotals,
    abort_on_error,
    as_communicator,
    gradient_reducer,
    stats_summer,
)
from fastmlp.errors import DivergenceError, InvalidParameterError
from fastmlp.losses import prepare_sample_weight, prepare_targets, resolve_loss_spec
from fastmlp.metrics import metric_logs, resolve_metrics
from fastmlp.optimizers import check_lr, get_optimizer
from fastmlp.trainers.batch_source import BatchSource, is_batch_source, split_batch, warn_ran_out
from fastmlp.trainers.compile_config import CompileConfig
from fastmlp.trainers.progress import Progress
from fastmlp.trainers.validation import split_validation, validation_schedule

__all__ = ["Trainer"]

_FIT_CONSTRAINTS = {
    "epochs": [Interval(Integral, 0, None)],
    "batch_size": [None, Interval(Integral, 1, None)],
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "shuffle": ["boolean"],
    "verbose": [Options((0, 1, 2, "auto"))],
    "augment": [None, "callable"],
    "initial_epoch": [Interval(Integral, 0, None)],
}


class Trainer:
    """The training half of a model: ``compile``, ``fit``, ``train_on_batch``, ``evaluate``,
    ``test_on_batch``, ``gradients`` and the compile state (see the module docstring for what
    the model class provides)."""

    def _init_trainer(self) -> None:
        self._compile_config: CompileConfig | None = None
        self._current_lr = None
        self._epoch = 0                # epochs trained so far: seeds shuffling and schedules
        self.stop_training = False
        self.history = None
        self._fit_progress = {}        # fit's resume bookkeeping (BackupAndRestore)
        self._comm = None              # the communicator of a distributed fit in progress

    # ---------------------------------------------------------------- compile

    @property
    def compiled(self) -> bool:
        return self._compile_config is not None

    @property
    def compile_config(self) -> CompileConfig | None:
        """What ``compile`` chose (a frozen :class:`CompileConfig`), or None before."""
        return self._compile_config

    @property
    def loss(self):
        return self._compile_config.loss if self._compile_config else None

    @property
    def optimizer(self):
        return self._compile_config.optimizer if self._compile_config else None

    def compile(self, loss="cross_entropy", optimizer="adam", l1=0.0, l2=0.0,
                metrics=None) -> None:
        """Choose the loss, the optimizer, the L1/L2 penalties on Dense weights and metrics.

        Parameters
        ----------
        loss : "cross_entropy", "binary_cross_entropy", "mse", "mae", "huber", "poisson" or
            fm.losses.Huber
            The classification losses fuse the softmax/sigmoid: the last layer outputs logits,
            or ends with that softmax/sigmoid (Keras' way), which is then fused into the loss
            (training on the logits, ``predict`` returning the same probabilities). "mae" (or
            "l1") is the mean absolute error, "huber" (or "smooth_l1") the Huber loss with
            delta 1 (``fm.losses.Huber(delta)`` for another). "poisson": the last layer outputs
            the log rate, ``predict`` returns ``exp`` of it (torch's PoissonNLLLoss with
            log_input=True).
        optimizer : Optimizer or str
            ``fm.SGD``, ``fm.RMSprop``, ``fm.Adam``, ``fm.AdamW`` or one of their names.
        l1, l2 : float
            Add ``l1*sum|W| + (l2/2)*sum W**2`` over Dense weights (a layer's own l1/l2 wins).
        metrics : list of str, optional
            Classification losses always report ``"accuracy"``; its Keras names ("accuracy",
            "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")
            are accepted and map to it. Loss "mse" may ask for "mae", "mse", "rmse" (or
            "mean_absolute_error", "mean_squared_error", "root_mean_squared_error"), reported
            under those three short keys (and ``val_``) in the history and by ``evaluate``:
            sample-weighted means over all elements, the mse metric without the penalty.
        """
        loss, huber_delta = resolve_loss_spec(loss)
        optimizer = get_optimizer(optimizer)
        validate_params("compile", {"l1": l1, "l2": l2},
                        {"l1": [Interval(Real, 0, None)], "l2": [Interval(Real, 0, None)]})
        metrics = resolve_metrics(metrics, loss)
        self._check_output_layer(self.layers, loss)
        with self._lock:
            self._compile_config = CompileConfig(loss, optimizer, float(l1), float(l2), metrics,
                                                 huber_delta)
            self._epoch = 0
            if self._net is not None:
                self._compile_engine(self._net)

    def _compile_engine(self, net):
        cfg = self._compile_config
        lr = cfg.optimizer.lr_at(self._epoch)
        net.compile(cfg.loss, cfg.optimizer.core_dict(lr), cfg.l1, cfg.l2, cfg.huber_delta)
        # Only the mae metric needs a pass of its own in the engine; mse/rmse reuse the loss
        # sums.
        net.track_abs_error = "mae" in cfg.metrics
        self._current_lr = lr

    # The int8 form of a quantized model (``Sequential.quantize``): it predicts and evaluates,
    # and refuses to train.
    quantized_model = None

    def _require_trainable(self, what):
        if self.quantized_model is not None:
            raise RuntimeError(f"cannot {what} a quantized model: its int8 weights are fixed. "
                               f"Train the float model, then quantize it")

    def _evaluate_engine(self, X, y, rows, sample_weight):
        """The engine's Totals for one pass over (X, y) (a quantized model overrides it)."""
        return self._net.evaluate(X, y, rows, sample_weight)

    def _require_compiled(self, what):
        if self._compile_config is None:
            raise RuntimeError(f"the model must be compiled before {what}: call "
                               "model.compile(loss=..., optimizer=...)")

    def _set_lr(self, lr, what="lr"):
        lr = check_lr(lr, what)
        # The engine wants lr > 0; a schedule that reaches 0 (CosineDecay's end) means "no
        # more updates", which the smallest positive rate gives.
        self._net.set_lr(lr if lr > 0 else float(np.finfo(np.float64).tiny))
        self._current_lr = lr

    # ---------------------------------------------------------------- data

    def _targets(self, y, n, name="y"):
        return prepare_targets(y, self._compile_config.loss, self.output_dim, self.dtype, n=n,
                               name=name)

    def _check_xy(self, X, y, xname="X", yname="y"):
        X = self._convert_X(X, xname)
        return X, self._targets(y, len(X), yname)

    def _sample_weight(self, sample_weight, class_weight, y, name="sample_weight"):
        return prepare_sample_weight(sample_weight, class_weight, y, self._compile_config.loss,
                                     self.output_dim, self.dtype, name=name)

    # ---------------------------------------------------------------- fit

    def fit(self, X=None, y=None, epochs=1, batch_size=32, validation_split=0.0,
            validation_data=None, shuffle=True, callbacks=None, verbose=1, augment=None,
            sample_weight=None, class_weight=None, initial_epoch=0, validation_freq=1, *,
            x=None, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            distributed=None):
        """Train epochs ``initial_epoch .. epochs-1`` over (X, y) (``epochs`` passes by
        default); returns a :class:`~fastmlp.History`.

        Parameters
        ----------
        X : array-like (n_samples, n_features), or batches
            Batches: a generator/iterator, a sequence of batches (``__getitem__`` +
            ``__len__``, Keras' ``PyDataset``) or a re-iterable such as a PyTorch
            ``DataLoader``, each batch ``(x, y)`` or ``(x, y, sample_weight)``; ``y`` is then
            None. Each batch goes to the engine whole (one optimizer step).
        y : array-like
            cross_entropy: labels 0..K-1 (n,) or probabilities (n, K); binary_cross_entropy:
            0/1 of shape (n,) or (n, K); mse: values (n,) or (n, outputs).
        validation_split : float in [0, 1)
            Fraction held out (shuffled, stratified for labels) as dev set.
        validation_data : (X_dev, y_dev) or (X_dev, y_dev, sample_weight_dev), optional
            Takes precedence over validation_split.
        callbacks : list of Callback
        verbose : 0, 1 or 2
            0 silent, 1 a progress bar, 2 one line per epoch.
        augment : callable ``(X_batch, rng) -> X_batch``, optional
            Applied to every training batch (a slower, per-batch Python path).
        sample_weight : array-like (n_samples,), optional
            Per-sample loss weights, finite and >= 0 (Keras' rule: a batch's loss is
            ``sum(w * loss) / batch_size``); accuracy is weighted too. Split along with
            validation_split.
        class_weight : dict ``{class: weight}`` or ``"balanced"``, optional
            Multiplies each sample's weight by its class's (classes left out: 1; "balanced":
            scikit-learn's ``n_samples / (n_classes * count)``). cross_entropy, or
            binary_cross_entropy with one output.
        initial_epoch : int >= 0
            Keras' resume point: the epochs run are numbered ``initial_epoch .. epochs-1`` in
            callbacks, History and the progress line (none when ``initial_epoch >= epochs``).
            0 continues the model's own epoch count for the lr schedule and the shuffles (a
            second ``fit`` goes on where the first stopped); a positive value makes them use
            these numbers too, so ``fit(epochs=10, initial_epoch=5)`` after 5 epochs gives
            the weights of one ``fit(epochs=10)``.
        validation_freq : int >= 1 or list of int
            Validate after the epochs whose 1-based number is a multiple of it, or (a list)
            after those 1-based epochs; the others log no ``val_`` keys, so History's ``val_``
            lists are shorter and callbacks monitoring them skip those epochs (warning once).
        x : Keras' name for ``X`` (give one)
        steps_per_epoch : int, optional
            With batches: the batches an epoch takes (else until the source is exhausted; an
            exhausted generator stops training with a warning, as in Keras).
        validation_steps : int, optional
            With ``validation_data`` as batches: the batches each validation takes.
        validation_batch_size : int, optional
            Rows per pass when evaluating an array dev set.

        distributed : fm.distributed.init()'s communicator, optional
            Data-parallel training over MPI (see :mod:`fastmlp.distributed`): every rank calls
            fit with its own rows (arrays), ``batch_size`` per rank; gradients are averaged
            every step, so the weights stay identical on every rank. Batches as ``x``,
            ``augment`` and per-step schedules are not supported with it.

        A schedule with ``per_step = True`` (``fastmlp.keras.optimizers.schedules``) sets the
        learning rate before every optimizer step from the step count, as Keras does; the
        epoch then runs batch by batch (a Python loop over ``train_batch``).
        """
        self._require_trainable("fit")
        args = dict(X=X, y=y, epochs=epochs, batch_size=batch_size,
                    validation_split=validation_split, validation_data=validation_data,
                    shuffle=shuffle, callbacks=callbacks, verbose=verbose, augment=augment,
                    sample_weight=sample_weight, class_weight=class_weight,
                    initial_epoch=initial_epoch, validation_freq=validation_freq, x=x,
                    steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                    validation_batch_size=validation_batch_size)
        if distributed is None:
            return self._fit(**args)
        comm = as_communicator(distributed)
        try:
            return self._fit(**args, comm=comm)
        except DivergenceError:
            raise               # every rank diverged together (the flags are global)
        except Exception as e:
            abort_on_error(comm, e)
            raise
        finally:
            self._comm = None

    def _fit(self, X, y, epochs, batch_size, validation_split, validation_data, shuffle,
             callbacks, verbose, augment, sample_weight, class_weight, initial_epoch,
             validation_freq, x, steps_per_epoch, validation_steps, validation_batch_size,
             comm=None):
        self._require_compiled("fit")
        X = _x_or_X("fit", X, x)
        source = None
        if is_batch_source(X):
            source = BatchSource(X, steps_per_epoch, "x")
            _refuse_with_batches("fit", y=y, sample_weight=sample_weight, augment=augment,
                                 validation_split=validation_split or None)
            if isinstance(class_weight, str):
                raise ValueError("class_weight='balanced' needs the whole y; with batches "
                                 "give a dict {class: weight}")
        elif steps_per_epoch is not None:
            raise InvalidParameterError("steps_per_epoch is for x given as batches (a generator,"
                                        " a dataset); with arrays use batch_size")
        validate_params("fit", dict(epochs=epochs, batch_size=batch_size,
                                    validation_split=validation_split, shuffle=shuffle,
                                    verbose=verbose, augment=augment, initial_epoch=initial_epoch),
                        _FIT_CONSTRAINTS)
        should_validate = validation_schedule(validation_freq)
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        callbacks = CallbackList(callbacks)

        val_source = None
        if is_batch_source(validation_data):
            val_source = BatchSource(validation_data, validation_steps, "validation_data")
            validation_data = None
        if source is None:
            X, y, sw, Xv, yv, swv = self._fit_data(X, y, sample_weight, class_weight,
                                                   validation_data, validation_split)
            self._fit_standardize(X, comm)
            batch_size = min(batch_size, len(X))
            n_samples = len(X)
        else:
            sw = None
            Xv, yv, swv = self._fit_validation_arrays(validation_data)
            n_samples = None
        validating = Xv is not None or val_source is not None
        sync, steps, across = None, 0, None
        if comm is not None:
            if source is not None or augment is not None or \
                    getattr(self._compile_config.optimizer.lr, "per_step", False):
                raise ValueError("fit(distributed=...) trains arrays in the engine's epoch loop: "
                                 "batches as x, augment and per-step schedules are not "
                                 "supported with it")
            verbose = verbose if comm.rank == 0 else 0
            callbacks = CallbackList([cb for cb in callbacks if comm.rank == 0
                                      or not getattr(cb, "_rank0_only", False)])
            sync, steps = self._start_distributed(comm, len(X), batch_size)
            if any(getattr(layer, "synchronized", False) for layer in self.layers):
                across = stats_summer(comm)

        history = History()
        history.params = {"epochs": epochs, "batch_size": batch_size, "samples": n_samples,
                          "validation": validating}
        history.set_model(self)
        self.history = history
        self.stop_training = False
        callbacks.set_model(self)
        optimizer = self._compile_config.optimizer
        per_step = bool(getattr(optimizer.lr, "per_step", False))
        # Two epoch numbers: Keras' ``epoch`` (initial_epoch .. epochs-1), which callbacks, History
        # and the progress line see, and the engine's, ``self._epoch``, a count kept across fit
        # calls that picks the shuffle stream and the schedule's lr. initial_epoch=0 (the default)
        # leaves that count running, as before: a second fit continues the schedule and draws new
        # shuffles, as Keras' optimizer step count continues. initial_epoch > 0 declares "resume at
        # this epoch", so the engine counts from it too: schedules, LearningRateScheduler and the
        # shuffles all see the same numbers as the callbacks, and fit(epochs=10, initial_epoch=5)
        # after 5 epochs repeats epochs 5..9 of one fit(epochs=10) bit for bit, even on a model
        # whose count says otherwise (weights restored into a fresh model, say).
        engine_offset = (self._epoch if initial_epoch == 0 else initial_epoch) - initial_epoch
        # What BackupAndRestore saves, and where it says to resume ("resume": Keras' epoch and
        # the engine offset of the run it backed up).
        self._fit_progress = {"engine_offset": engine_offset, "interrupted": False}
        callbacks.on_train_begin({})
        resume = self._fit_progress.pop("resume", None)
        if resume is not None:
            initial_epoch, engine_offset = resume
        progress = Progress(verbose, epochs, n_samples, self._metric_logs)
        diverged = None
        try:
            for epoch in range(initial_epoch, epochs):
                t0 = time.perf_counter()
                global_epoch = engine_offset + epoch
                if callable(optimizer.lr) and not per_step and self._net is not None:
                    self._set_lr(optimizer.lr_at(global_epoch))
                callbacks.on_epoch_begin(epoch, {})
                interrupted = False
                if source is not None:
                    totals, nonfinite = self._batch_epoch(
                        self._source_batches(source, class_weight), per_step,
                        progress.start_epoch(epoch))
                elif augment is None and not per_step:
                    result = self._net.fit_epoch(X, y, batch_size, bool(shuffle),
                                                 int(global_epoch),
                                                 progress=progress.start_epoch(epoch),
                                                 sample_weight=sw, sync=sync,
                                                 steps=steps, across=across)
                    totals, nonfinite, interrupted = (result.totals, result.nonfinite,
                                                      result.interrupted)
                    if comm is not None:    # History and callbacks see the global sums
                        totals = GlobalTotals(totals, comm, extra=(interrupted,))
                        interrupted = bool(totals.extra[0])
                else:
                    totals, nonfinite = self._batch_epoch(
                        self._array_batches(X, y, sw, batch_size, shuffle, global_epoch,
                                            augment), per_step, progress.start_epoch(epoch))
                self._epoch = global_epoch + 1
                if nonfinite:       # the engine rolled the model back to the epoch's start
                    diverged = epoch
                    break
                if totals.count == 0:
                    if source is not None:      # an iterator with nothing left
                        warn_ran_out("x")
                    else:                       # interrupted before the first batch
                        progress.message("Interrupted: training stopped.")
                        self._fit_progress["interrupted"] = True
                    break
                logs = {"loss": float(totals.loss)}
                logs.update(self._metric_logs(totals))
                # Epochs that skip validation log no val_ keys at all (as Keras): History's val_
                # lists are then shorter than its loss list, and monitors of val_ keys skip them.
                if validating and should_validate(epoch):
                    if val_source is not None:
                        val_logs = self._evaluate_source(val_source)
                    else:
                        val_logs = self._evaluate_arrays(Xv, yv, validation_batch_size, swv,
                                                         comm)
                    for k, v in val_logs.items():
                        logs["val_" + k] = v
                # History last, as in Keras: what a callback adds to the logs (Keras'
                # ReduceLROnPlateau: learning_rate) is recorded too; also when a callback is
                # interrupted (Ctrl-C), so the epoch stays in the returned history.
                try:
                    stop = callbacks.on_epoch_end(epoch, logs)
                finally:
                    history.on_epoch_end(epoch, logs)
                callbacks.after_epoch_end(epoch, logs)
                progress.update(epoch, logs, time.perf_counter() - t0)
                if interrupted:
                    progress.message("Interrupted: training stopped after the current batch.")
                    self._fit_progress["interrupted"] = True
                    break
                if stop or self.stop_training:
                    break
        except KeyboardInterrupt:
            progress.message("Interrupted: training stopped.")
            self._fit_progress["interrupted"] = True
        finally:
            progress.close()
        if diverged is not None and callbacks.has(TerminateOnNaN):
            # Keras' contract for TerminateOnNaN: stop and return, no exception (the model holds
            # the weights from the start of the diverged epoch either way).
            print(f"Epoch {diverged + 1}: Invalid loss, terminating training", flush=True)
            self.stop_training = True
            diverged = None
        if diverged is not None:
            raise DivergenceError(
                f"the training loss became non-finite (NaN or infinity) in epoch {diverged + 1}; "
                f"training stopped and the model holds the weights from the start of that "
                f"epoch. Try a lower "
                f"learning rate (it was {self._current_lr:g}), standardized inputs, or gradient-"
                f"friendlier initialization.", epoch=diverged, history=history)
        callbacks.on_train_end({})
        return history

    def _start_distributed(self, comm, n, batch_size):
        """Rank 0's weights on every rank, this rank's dropout streams, the step count of an
        epoch (the most any rank has) and fit_epoch's gradient allreduce."""
        self._comm = comm
        self._net.rank = comm.rank
        views = self._net.params()
        for view in views:
            comm.bcast(view)
        running = [v for v, (_, name, _, _) in zip(views, self._param_specs())
                   if name in ("running_mean", "running_var")]
        steps = comm.allreduce(np.array([-(-n // batch_size)], np.int64), "max")
        return gradient_reducer(comm, running), int(steps[0])

    def _fit_data(self, X, y, sample_weight, class_weight, validation_data, validation_split):
        """Checked training arrays and dev set: ``(X, y, sw, Xv, yv, swv)`` (Xv, yv None
        without one; sample weights None when not given)."""
        X, y = self._check_xy(X, y)
        sw = self._sample_weight(sample_weight, class_weight, y)
        swv = None
        if validation_data is not None:
            Xv, yv, swv = self._fit_validation_arrays(validation_data)
        elif validation_split > 0:
            labels = y if (self._compile_config.loss == "cross_entropy"
                           and y.ndim == 1) else None
            tr, va = split_validation(len(X), float(validation_split), self.seed, labels)
            Xv, yv = X[va], y[va]
            X, y = X[tr], y[tr]     # the one copy fit makes: the training rows, contiguous
            if sw is not None:
                sw, swv = sw[tr], sw[va]
                if not (sw.sum() > 0 and swv.sum() > 0):
                    side = "training" if not sw.sum() > 0 else "validation"
                    raise ValueError("after validation_split, sample_weight is 0 on every "
                                     f"{side} sample")
        else:
            Xv = yv = None
        return X, y, sw, Xv, yv, swv

    def _fit_validation_arrays(self, validation_data):
        """``(Xv, yv, swv)`` of an array dev set (None, None, None without one)."""
        if validation_data is None:
            return None, None, None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise InvalidParameterError("validation_data must be a pair (X_dev, y_dev), a "
                                        "triple (X_dev, y_dev, sample_weight_dev) or batches "
                                        "(a generator, a dataset)")
        Xv, yv = self._check_xy(validation_data[0], validation_data[1], "validation_data[0]",
                                 "validation_data[1]")
        swv = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            swv = self._sample_weight(validation_data[2], None, yv, "validation_data[2]")
        return Xv, yv, swv

    def _array_batches(self, X, y, sw, batch_size, shuffle, epoch, augment):
        """The batches of one epoch over arrays, for the per-batch path (``augment``, per-step
        schedules): shuffled from the seed and epoch, ``augment(X_batch, rng)`` applied."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(2**31 - 1,
                                                                                    epoch)))
        n = len(X)
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb = X[idx]
            if augment is not None:
                Xb = check_X(augment(Xb, rng), self.dtype, self.input_dim,
                             name="augment(X_batch, rng)")
                if len(Xb) != len(idx):
                    raise ValueError(f"augment returned {len(Xb)} rows for a batch of "
                                     f"{len(idx)}")
            yield (Xb, np.ascontiguousarray(y[idx]),
                   None if sw is None else np.ascontiguousarray(sw[idx]))

    def _source_batches(self, source, class_weight=None):
        """The converted ``(X, y, sample_weight)`` batches of one epoch of ``source`` (the
        first one builds the model and fits a Standardize layer); ``class_weight`` (a dict)
        multiplies each row's weight as in :meth:`fit`."""
        for k, batch in enumerate(source.epoch()):
            xb, yb, wb = split_batch(batch, source.name)
            where = f"{source.name} batch {k}"
            Xb, yb = self._check_xy(xb, yb, f"{where} x", f"{where} y")
            wb = self._sample_weight(wb, class_weight, yb, f"{where} sample_weight")
            self._fit_standardize(Xb)
            yield Xb, yb, wb

    def _batch_epoch(self, batches, per_step, on_progress=None):
        """The per-batch path: one ``train_batch`` a batch, whose Totals add up as fit_epoch's
        do in C++; with ``per_step`` the schedule sets the rate before each step (Keras' rule:
        ``lr(step)``, steps counted from 0). Returns ``(totals, nonfinite)``; on divergence the
        network is rolled back to the start of the epoch (the engine's checkpoint, the
        rollback fit_epoch uses)."""
        totals = _core.Totals()
        schedule = self._compile_config.optimizer.lr
        net = None
        last_report = time.perf_counter()
        for Xb, yb, wb in batches:
            if net is None:         # built by the first batch when the source sets the size
                net = self._net
                net.checkpoint()
            if per_step:
                self._set_lr(schedule(int(net.step)), "the learning-rate schedule")
            step = net.train_batch(Xb, yb, wb, details=True)
            if not math.isfinite(step.loss):
                net.rollback()
                return totals, True
            totals.add(step)
            if on_progress is not None and time.perf_counter() - last_report > 0.02:
                on_progress(totals)
                last_report = time.perf_counter()
        return totals, False

    def train_on_batch(self, X, y, sample_weight=None, class_weight=None) -> float:
        """One optimizer step on exactly this batch; returns its loss (with the penalty).
        ``sample_weight``/``class_weight`` as in :meth:`fit`."""
        self._require_trainable("train_on_batch")
        self._require_compiled("train_on_batch")
        X, y = self._check_xy(X, y)
        sw = self._sample_weight(sample_weight, class_weight, y)
        self._fit_standardize(X)
        with self._lock:
            return float(self._net.train_batch(X, y, sw))

    def evaluate(self, X=None, y=None, batch_size=None, verbose=0, sample_weight=None,
                 return_dict=True, *, x=None, steps=None):
        """``{"loss": mean loss incl. penalty, "accuracy": ...}`` (accuracy for classification
        losses only, else the metrics compiled), in inference mode; weighted by
        ``sample_weight`` as in :meth:`fit`. ``batch_size``: rows per pass through the network
        (bounds memory, as in Keras; None runs all rows at once); the numbers agree up to the
        order of the sums.

        ``return_dict=False`` returns Keras' form instead: the loss alone when the dict holds
        nothing else, else the list of the dict's values in its order (``[loss, accuracy]``,
        ``[loss, mae, ...]``).

        ``X`` (or Keras' ``x``) may be batches as :meth:`fit` takes them (``y`` None), at most
        ``steps`` of them.
        """
        X = _x_or_X("evaluate", X, x)
        if is_batch_source(X):
            self._require_compiled("evaluate")
            validate_params("evaluate", {"return_dict": return_dict},
                            {"return_dict": ["boolean"]})
            _refuse_with_batches("evaluate", y=y, sample_weight=sample_weight)
            return _keras_form(self._evaluate_source(BatchSource(X, steps, "x")), return_dict)
        return self._evaluate_checked("evaluate", X, y, batch_size, sample_weight, return_dict)

    def test_on_batch(self, X, y, sample_weight=None, return_dict=True):
        """:meth:`evaluate` on exactly this batch (inference mode, nothing updated): the same
        dict, or Keras' scalar/list with ``return_dict=False``."""
        return self._evaluate_checked("test_on_batch", X, y, None, sample_weight, return_dict,
                                      one_block=True)

    def _evaluate_checked(self, what, X, y, batch_size, sample_weight, return_dict,
                          one_block=False):
        """Validate, convert and evaluate (``one_block``: batch_size = all the rows)."""
        self._require_compiled(what)
        validate_params(what, {"return_dict": return_dict}, {"return_dict": ["boolean"]})
        X, y = self._check_xy(X, y)
        sw = self._sample_weight(sample_weight, None, y)
        logs = self._evaluate_arrays(X, y, len(X) if one_block else batch_size, sw)
        return _keras_form(logs, return_dict)

    def _evaluate_arrays(self, X, y, batch_size=None, sample_weight=None, comm=None) -> dict:
        # Like Keras' batch_size, the rows of one pass bound its memory; the numbers agree with
        # one pass up to the order of the sums. comm: sums over the ranks' sets (distributed).
        n = len(X)
        rows = batch_rows(batch_size, n, "evaluate")
        if comm is not None:
            totals, loss = self._evaluate_in_batches(X, y, rows, sample_weight, comm)
        elif rows >= n:
            totals = self._evaluate_engine(X, y, rows, sample_weight)
            loss = totals.loss
        else:
            totals, loss = self._evaluate_in_batches(X, y, rows, sample_weight)
        out = {"loss": float(loss)}
        out.update(self._metric_logs(totals))
        return out

    def _evaluate_in_batches(self, X, y, rows, sample_weight, comm=None):
        """``net.evaluate`` over ``rows``-row slices, their Totals added up in order; returns
        ``(totals, mean loss)``."""
        parts = ((X[s:s + rows], y[s:s + rows],
                  None if sample_weight is None else sample_weight[s:s + rows])
                 for s in range(0, len(X), rows))
        return self._evaluate_parts(parts, comm)

    def _evaluate_parts(self, parts, comm=None):
        """``net.evaluate`` on each ``(X, y, sample_weight)`` part, their Totals added up in
        order (then over the ranks with ``comm``); returns ``(totals, mean loss)``."""
        # The engine's mean loss is data_sum / (n * per_row) + penalty: the penalty is read off
        # the first part, the data sums add up over all of them.
        per_row = 1 if self._compile_config.loss == "cross_entropy" else self.output_dim
        totals = _core.Totals()
        penalty = None
        for Xb, yb, wb in parts:
            t = self._evaluate_engine(Xb, yb, len(Xb), wb)
            if penalty is None:
                penalty = t.loss - t.data_sum / (t.count * per_row)
            totals.add(t)
        if penalty is None:
            raise ValueError("the batches to evaluate are empty: nothing was yielded")
        if comm is not None:
            totals = GlobalTotals(totals, comm)
        return totals, totals.data_sum / (totals.count * per_row) + penalty

    def _evaluate_source(self, source) -> dict:
        """The evaluate dict over the batches of ``source`` (inference mode)."""
        totals, loss = self._evaluate_parts(self._source_batches(source))
        out = {"loss": float(loss)}
        out.update(self._metric_logs(totals))
        return out

    def _metric_logs(self, totals) -> dict:
        """The compiled metrics from the engine's weighted sums (``_core.Totals``; see
        fastmlp.metrics)."""
        cfg = self._compile_config
        return metric_logs(cfg.loss, cfg.metrics, self.output_dim, totals)

    def gradients(self, X, y, sample_weight=None) -> list:
        """Gradients of the mean loss (incl. penalty) for the trainable arrays, in
        ``get_weights()`` order (running statistics and Standardize's arrays left out);
        ``sample_weight`` as in :meth:`fit`."""
        self._require_trainable("compute gradients of")
        self._require_compiled("gradients")
        X, y = self._check_xy(X, y)
        sw = self._sample_weight(sample_weight, None, y)
        return self._gradients(X, y, dropout=True, sample_weight=sw)

    def _gradients(self, X, y, dropout=True, sample_weight=None):
        return [np.array(g) for g in self._net.gradients(X, y, dropout, sample_weight)]


def _x_or_X(what, X, x):
    """``X`` or Keras' ``x`` (not both)."""
    if x is None:
        return X
    if X is not None:
        raise InvalidParameterError(f"{what} got X and x: give one (x is Keras' name for X)")
    return x


def _refuse_with_batches(what, **given):
    """With batches as x, the arguments that belong in the batches (or make no sense) must be
    left out: a ValueError naming them."""
    bad = [k for k, v in given.items() if v is not None]
    if bad:
        raise ValueError(f"{what}: x yields batches (x, y[, sample_weight]), so "
                         f"{', '.join(bad)} must not be given (put targets and weights in the "
                         f"batches)")


def _keras_form(logs: dict, return_dict: bool):
    """evaluate's dict, or Keras' form: loss first, then the metrics; one value unwrapped
    (Keras' _flatten_metrics_in_order)."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
