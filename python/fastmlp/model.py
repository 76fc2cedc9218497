"""``Sequential``: the Keras-style model over one C++ ``_core.Network``.

Python validates, converts input once, initializes weights (NumPy, per-layer child seeds) and
runs the per-epoch loop (``training.py``); the engine owns every array and runs whole epochs
with the GIL released. See ``docs/core_network.md`` for the contract between the two.
"""
from __future__ import annotations

import threading
import weakref
from numbers import Integral, Real

import numpy as np

from fastmlp import _core
from fastmlp._validation import (Interval, as_float_array, check_dtype, check_finite, check_X,
                                 validate_params)
from fastmlp.errors import InvalidParameterError
from fastmlp.layers import LAYERS, Dense, Dropout, GaussianNoise, Layer, Standardize
from fastmlp.losses import (check_last_layer, prepare_sample_weight, prepare_targets,
                            resolve_loss)
from fastmlp.metrics import metric_logs, resolve_metrics
from fastmlp.optimizers import OPTIMIZERS, check_lr, get_optimizer

__all__ = ["Sequential"]

#: What builds the engine; tests may swap in ``tests/reference.py``'s NumPy network.
_network_factory = None


def _factory():
    return _network_factory if _network_factory is not None else _core.Network


_OPTIMIZER_CLASSES = {cls.__name__: cls for cls in OPTIMIZERS.values()}

def _physical_memory() -> int:
    try:
        import os

        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):   # not POSIX: only the absurd is refused
        return 2**47


class Sequential:
    """A stack of layers trained as one network.

    Parameters
    ----------
    layers : list of Layer, optional
        More may be added with :meth:`add` until the model is built.
    input_dim : int, optional
        Number of input features; if omitted, fixed by the first ``fit`` (or ``predict``).
    dtype : "float32" or "float64"
    seed : int, optional
        Same seed and data give bit-identical weights, whatever the thread count. ``None``
        draws one (kept in ``model.seed``).

    Examples
    --------
    >>> import fastmlp as fm
    >>> model = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dense(3)], input_dim=4,
    ...                       seed=0)
    >>> model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-2))
    """

    def __init__(self, layers=None, input_dim=None, dtype="float32", seed=None):
        self._dtype = check_dtype(dtype)
        validate_params("Sequential", {"input_dim": input_dim, "seed": seed},
                        {"input_dim": [None, Interval(Integral, 1, None)],
                         "seed": [None, Interval(Integral, 0, 2**63 - 1)]})
        if layers is None:
            layers = []
        if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
            raise InvalidParameterError(
                f"The 'layers' parameter of Sequential must be a list of layers. Got "
                f"{layers!r} instead.")
        self._input_dim = None if input_dim is None else int(input_dim)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0] >> 1)
        self._seed = int(seed)
        self._layers: list[Layer] = []
        self._net = None
        self._lock = threading.RLock()
        self._compile_args = None      # (loss, optimizer, l1, l2) once compiled
        self._metrics = ()             # compile(metrics=...) as history keys
        self._current_lr = None
        self._epoch = 0                # epochs trained so far: seeds shuffling and schedules
        self.stop_training = False
        self.history = None
        for layer in layers:
            self.add(layer)

    # ---------------------------------------------------------------- structure

    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built)."""
        if not isinstance(layer, Layer):
            raise InvalidParameterError(
                f"layers must be fastmlp layers (fm.Dense, fm.Activation, ...), got "
                f"{type(layer).__name__}")
        if self._net is not None:
            raise ValueError("cannot add layers to a model that is already built")
        if isinstance(layer, Standardize) and self._layers:
            raise ValueError("Standardize must be the first layer (it standardizes the input "
                             "features)")
        if any(layer is other for other in self._layers):
            raise ValueError("the same layer object appears twice; create a new one")
        self._check_output_layer(self._layers + [layer])
        self._take_input_dim_hint(layer)
        self._layers.append(layer)

    def _take_input_dim_hint(self, layer) -> None:
        """Keras' Dense(..., input_dim=d / input_shape=(d,)) on the first Dense: the model's
        input_dim (the layers before it, if any, keep the width)."""
        hint = getattr(layer, "input_dim_hint", None)
        if hint is None:
            return
        if any(isinstance(other, Dense) for other in self._layers):
            raise ValueError("input_dim / input_shape belongs on the model's first Dense layer")
        if self._input_dim is not None and self._input_dim != hint:
            raise ValueError(f"the layer's input_dim {hint} differs from the model's "
                             f"input_dim {self._input_dim}")
        self._input_dim = hint

    def pop(self) -> Layer:
        """Remove the last layer and return it (Keras' ``Sequential.pop``).

        As with :meth:`add`, only before the model is built: a built model's weights live in
        the engine's network, so build a new ``Sequential`` from ``model.layers[:-1]`` instead.
        On a compiled model the layer that becomes the last one is checked against the loss
        (as ``compile`` does), and nothing is removed when that check fails.
        """
        if self._net is not None:
            raise ValueError("cannot pop layers from a model that is already built (as add "
                             "cannot add them): build a new Sequential from the layers you "
                             "want to keep, e.g. model.layers[:-1]")
        if not self._layers:
            raise ValueError("pop: the model has no layers to remove")
        self._check_output_layer(self._layers[:-1])
        return self._layers.pop()

    def _check_output_layer(self, layers, loss=None) -> None:
        """A loss that fuses the softmax/sigmoid (``loss``, else the compiled one; nothing to
        check before compile) needs a last layer without that activation."""
        if loss is None:
            if self._compile_args is None:
                return
            loss = self._compile_args[0]
        # Dropout/noise after the output change nothing at inference: look past them.
        core = [layer for layer in layers if not isinstance(layer, (Dropout, GaussianNoise))]
        check_last_layer(loss, core[-1].activation_name if core else None)

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def input_dim(self):
        return self._input_dim

    @property
    def output_dim(self):
        if self._input_dim is None:
            return None
        d = self._input_dim
        for layer in self._layers:
            d = layer.output_dim(d)
        return d

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def built(self) -> bool:
        return self._net is not None

    @property
    def compiled(self) -> bool:
        return self._compile_args is not None

    @property
    def loss(self):
        return self._compile_args[0] if self._compile_args else None

    @property
    def optimizer(self):
        return self._compile_args[1] if self._compile_args else None

    def _param_specs(self):
        """``[(layer_index, name, shape, trainable)]`` in get_weights() order."""
        out, d = [], self._input_dim
        for i, layer in enumerate(self._layers):
            for name, shape, trainable in layer.param_specs(d):
                out.append((i, name, shape, trainable))
            d = layer.output_dim(d)
        return out

    def _param_names(self):
        return [f"{type(self._layers[i]).__name__.lower()}_{i}/{name}"
                for i, name, _, _ in self._param_specs()]

    def build(self, input_dim=None) -> None:
        """Create the engine's network and draw initial weights (done automatically on first
        use)."""
        with self._lock:
            if self._net is not None:
                return
            if input_dim is not None:
                validate_params("Sequential.build", {"input_dim": input_dim},
                                {"input_dim": [Interval(Integral, 1, None)]})
                if self._input_dim is not None and input_dim != self._input_dim:
                    raise ValueError(f"input_dim={input_dim} differs from the model's "
                                     f"input_dim={self._input_dim}")
                self._input_dim = int(input_dim)
            if self._input_dim is None:
                raise ValueError("the model's input_dim is unknown: pass input_dim= to "
                                 "Sequential or call fit first")
            specs = self._param_specs()
            total = sum(int(np.prod(s, dtype=object)) for _, _, s, _ in specs)
            # Parameters, gradients and up to three optimizer slots in the model's dtype, plus
            # the float64 draw of the largest layer: refuse up front what cannot fit in memory
            # (an over-committed allocation would get the process killed later instead).
            itemsize = np.dtype(self._dtype).itemsize
            largest = max((int(np.prod(s, dtype=object)) for _, _, s, _ in specs), default=0)
            need = total * itemsize * 5 + largest * 8
            if need > _physical_memory():
                raise MemoryError(
                    f"the model has {total} parameters and needs about {need / 2**30:.1f} GiB, "
                    f"more than this machine's memory; use fewer or smaller layers")
            # Per-layer child seeds: adding a layer never changes the earlier layers' weights.
            init, d = [], self._input_dim
            for i, layer in enumerate(self._layers):
                rng = np.random.default_rng(np.random.SeedSequence(self._seed, spawn_key=(i,)))
                init.extend(layer.init_params(d, rng))
                d = layer.output_dim(d)
            net = _factory()([layer.core_dict() for layer in self._layers], self._input_dim,
                             self._dtype, self._seed)
            params = net.params()
            if len(params) != len(init):
                raise RuntimeError(f"engine exposes {len(params)} arrays, expected {len(init)}")
            for view, value in zip(params, init):
                view[...] = value.astype(self._dtype, copy=False)
            if self._compile_args is not None:
                self._compile_net(net)
            self._net = net
            self._attach_layers()

    def _attach_layers(self):
        offset = 0
        for layer in self._layers:
            layer._model_ref = weakref.ref(self)
            layer._offset = offset
            offset += len(layer.param_specs(1))

    def _ensure_built(self, X: np.ndarray | None = None):
        if self._net is None:
            if self._input_dim is None and X is not None:
                self.build(X.shape[1])
            else:
                self.build()

    def _convert_X(self, X, name="X") -> np.ndarray:
        """Convert once: 2-D, finite, C-contiguous, the model's dtype; builds the model."""
        X = check_X(X, self._dtype, self._input_dim, name=name)
        self._ensure_built(X)
        return X

    # ---------------------------------------------------------------- compile

    def compile(self, loss="cross_entropy", optimizer="adam", l1=0.0, l2=0.0,
                metrics=None) -> None:
        """Choose the loss, the optimizer, the L1/L2 penalties on Dense weights and metrics.

        Parameters
        ----------
        loss : "cross_entropy", "binary_cross_entropy" or "mse"
            The classification losses fuse the softmax/sigmoid: the last layer outputs logits.
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
        loss = resolve_loss(loss)
        optimizer = get_optimizer(optimizer)
        validate_params("compile", {"l1": l1, "l2": l2},
                        {"l1": [Interval(Real, 0, None)], "l2": [Interval(Real, 0, None)]})
        metrics = resolve_metrics(metrics, loss)
        self._check_output_layer(self._layers, loss)
        with self._lock:
            self._compile_args = (loss, optimizer, float(l1), float(l2))
            self._metrics = metrics
            self._epoch = 0
            if self._net is not None:
                self._compile_net(self._net)

    def _compile_net(self, net):
        loss, optimizer, l1, l2 = self._compile_args
        lr = optimizer.lr_at(self._epoch)
        net.compile(loss, optimizer.core_dict(lr), l1, l2)
        # Only mae needs a pass of its own in the engine; mse/rmse reuse the loss sums.
        net.track_abs_error = "mae" in self._metrics
        self._current_lr = lr

    def _require_compiled(self, what):
        if self._compile_args is None:
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
        return prepare_targets(y, self._compile_args[0], self.output_dim, self._dtype, n=n,
                               name=name)

    def _check_xy(self, X, y, xname="X", yname="y"):
        X = self._convert_X(X, xname)
        return X, self._targets(y, len(X), yname)

    def _sample_weight(self, sample_weight, class_weight, y, name="sample_weight"):
        return prepare_sample_weight(sample_weight, class_weight, y, self._compile_args[0],
                                     self.output_dim, self._dtype, name=name)

    def _fit_standardize(self, X: np.ndarray) -> None:
        """Standardize learns mean/std from the first data the model is trained on."""
        if self._layers and isinstance(self._layers[0], Standardize) \
                and not self._layers[0]._fitted:
            mean, std = Standardize.statistics(X)
            params = self._net.params()
            params[0][...] = mean
            params[1][...] = std
            self._layers[0]._fitted = True

    # ---------------------------------------------------------------- training

    def fit(self, X, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, callbacks=None, verbose=1, augment=None, sample_weight=None,
            class_weight=None, initial_epoch=0, validation_freq=1):
        """Train epochs ``initial_epoch .. epochs-1`` over (X, y) (``epochs`` passes by
        default); returns a :class:`~fastmlp.History`.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
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
        """
        from fastmlp.training import fit_model

        return fit_model(self, X, y, epochs=epochs, batch_size=batch_size,
                         validation_split=validation_split, validation_data=validation_data,
                         shuffle=shuffle, callbacks=callbacks, verbose=verbose, augment=augment,
                         sample_weight=sample_weight, class_weight=class_weight,
                         initial_epoch=initial_epoch, validation_freq=validation_freq)

    def train_on_batch(self, X, y, sample_weight=None, class_weight=None) -> float:
        """One optimizer step on exactly this batch; returns its loss (with the penalty).
        ``sample_weight``/``class_weight`` as in :meth:`fit`."""
        self._require_compiled("train_on_batch")
        X, y = self._check_xy(X, y)
        sw = self._sample_weight(sample_weight, class_weight, y)
        self._fit_standardize(X)
        with self._lock:
            return float(self._net.train_batch(X, y, sw))

    def evaluate(self, X, y, batch_size=None, verbose=0, sample_weight=None, return_dict=True):
        """``{"loss": mean loss incl. penalty, "accuracy": ...}`` (accuracy for classification
        losses only, else the metrics compiled), in inference mode; weighted by
        ``sample_weight`` as in :meth:`fit`.

        ``return_dict=False`` returns Keras' form instead: the loss alone when the dict holds
        nothing else, else the list of the dict's values in its order (``[loss, accuracy]``,
        ``[loss, mae, ...]``).
        """
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
        if return_dict:
            return logs
        # Keras' _flatten_metrics_in_order: loss first, then the metrics; one value unwrapped.
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_arrays(self, X, y, batch_size=None, sample_weight=None) -> dict:
        from fastmlp.training import eval_batch_size

        totals = self._net.evaluate(X, y, eval_batch_size(batch_size, len(X)), sample_weight)
        out = {"loss": float(totals.loss)}
        out.update(self._metric_logs(totals))
        return out

    def _metric_logs(self, totals) -> dict:
        """The compiled metrics from the engine's weighted sums (``_core.Totals``; see
        fastmlp.metrics)."""
        return metric_logs(self._compile_args[0], self._metrics, self.output_dim, totals)

    def __call__(self, X, training=False) -> np.ndarray:
        """``model(X)`` as in Keras: :meth:`predict` (``training=None``, Keras' default, is
        inference)."""
        return self.predict(X, training=False if training is None else training)

    def predict_on_batch(self, X) -> np.ndarray:
        """:meth:`predict` on exactly this batch (the engine runs it as one)."""
        return self.predict(X)

    def predict(self, X, training=False, batch_size=None) -> np.ndarray:
        """Outputs ``(n, outputs)``: probabilities for cross_entropy / binary_cross_entropy,
        values for mse, raw outputs before compile. ``training=True`` runs as in training
        (dropout, noise, batch statistics) without changing weights or running statistics;
        each call draws fresh dropout masks and noise (Monte Carlo dropout), the sequence of
        calls reproducible from the model's seed."""
        if not isinstance(training, (bool, np.bool_)):
            raise InvalidParameterError(f"training must be a bool, got {training!r}")
        link = self._compile_args is not None
        if self._net is not None and type(X) is np.ndarray and X.ndim == 2 and X.size \
                and X.shape[1] == self._input_dim and X.dtype == self._dtype \
                and X.flags.c_contiguous:
            # Already what the engine takes (the latency path): it checks shape and
            # finiteness itself, with the GIL released.
            return self._net.predict(X, bool(training), link, True)
        X = self._convert_X(X)
        return self._net.predict(X, bool(training), link)

    def gradients(self, X, y, sample_weight=None) -> list:
        """Gradients of the mean loss (incl. penalty) for the trainable arrays, in
        ``get_weights()`` order (running statistics and Standardize's arrays left out);
        ``sample_weight`` as in :meth:`fit`."""
        self._require_compiled("gradients")
        X, y = self._check_xy(X, y)
        sw = self._sample_weight(sample_weight, None, y)
        return self._gradients(X, y, dropout=True, sample_weight=sw)

    def _gradients(self, X, y, dropout=True, sample_weight=None):
        return [np.array(g) for g in self._net.gradients(X, y, dropout, sample_weight)]

    def _penalty(self) -> float:
        _, _, l1, l2 = self._compile_args
        params, k, total = self._net.params(), 0, 0.0
        for layer in self._layers:
            n = len(layer.param_specs(1))
            if isinstance(layer, Dense):
                W = np.asarray(params[k], dtype=np.float64)
                a1 = l1 if layer.l1 is None else layer.l1
                a2 = l2 if layer.l2 is None else layer.l2
                total += a1 * np.abs(W).sum() + 0.5 * a2 * (W * W).sum()
            k += n
        return total

    # ---------------------------------------------------------------- weights

    def get_weights(self) -> list:
        """Copies of every array in layer order: Dense ``[W (in, units), b]``, BatchNorm
        ``[gamma, beta, running_mean, running_var]``, Standardize ``[mean, std]``."""
        if self._net is None:
            if self._input_dim is None:
                return []
            self.build()
        return [np.array(p, copy=True) for p in self._net.params()]

    def set_weights(self, weights) -> None:
        """Set every array from a list like ``get_weights()``'s (count and shapes checked)."""
        try:
            weights = list(weights)
        except TypeError:
            raise InvalidParameterError("weights must be a list of arrays") from None
        if self._net is None:
            if self._input_dim is None:
                if not weights:
                    return
                first = np.asarray(weights[0])
                if first.ndim == 0:
                    raise ValueError("weights[0] must be an array, got a scalar")
                self._input_dim = int(first.shape[0])
            self.build()
        specs = self._param_specs()
        if len(weights) != len(specs):
            raise ValueError(f"weights has {len(weights)} arrays, but the model has "
                             f"{len(specs)} ({', '.join(self._param_names())})")
        converted = []
        for k, (w, (i, name, shape, _)) in enumerate(zip(weights, specs)):
            a = as_float_array(w, f"weights[{k}]", self._dtype, ndim=(len(shape),))
            if a.shape != tuple(shape):
                raise ValueError(f"weights[{k}] ({type(self._layers[i]).__name__} layer {i}, "
                                 f"{name}) must have shape {tuple(shape)}, got {a.shape}")
            check_finite(a, f"weights[{k}]")
            if name in ("running_var",) and a.min() < 0:
                raise ValueError(f"weights[{k}] (running_var) must be >= 0")
            if name == "std" and a.min() <= 0:
                raise ValueError(f"weights[{k}] (Standardize std) must be > 0")
            converted.append(a)
        with self._lock:
            for view, a in zip(self._net.params(), converted):
                view[...] = a
        for layer in self._layers:
            if isinstance(layer, Standardize):
                layer._fitted = True

    @property
    def weights(self) -> list:
        """Read-only copies of every array, as :meth:`get_weights` lists them."""
        return self._read_only_weights(None)

    @property
    def trainable_weights(self) -> list:
        """Read-only copies of the arrays the optimizer updates (Dense W and b, BatchNorm
        gamma and beta), in :meth:`get_weights` order."""
        return self._read_only_weights(True)

    @property
    def non_trainable_weights(self) -> list:
        """Read-only copies of the arrays fit sets without gradients (BatchNorm running
        statistics, Standardize mean and std), in :meth:`get_weights` order."""
        return self._read_only_weights(False)

    def _read_only_weights(self, trainable) -> list:
        """get_weights() restricted by the engine's trainable flags (None: all). Read-only, so
        an in-place edit fails loudly instead of silently missing the model."""
        arrays = self.get_weights()
        flags = self._net.trainable() if self._net is not None else []
        out = [a for a, t in zip(arrays, flags) if trainable is None or bool(t) == trainable]
        for a in out:
            a.flags.writeable = False
        return out

    def count_params(self) -> int:
        return int(sum(np.prod(s) for _, _, s, _ in self._param_specs()))

    def get_optimizer_state(self):
        """``{"step", "epoch", "arrays"}`` (copies), or None before compile/build."""
        if self._net is None or self._compile_args is None:
            return None
        return {"step": int(self._net.step), "epoch": int(self._epoch),
                "arrays": [np.array(a, copy=True) for a in self._net.optimizer_state()]}

    def set_optimizer_state(self, state) -> None:
        """Restore what :meth:`get_optimizer_state` returned (for warm starts)."""
        self._require_compiled("set_optimizer_state")
        if not isinstance(state, dict) or "arrays" not in state:
            raise InvalidParameterError("state must be a dict from get_optimizer_state()")
        self._ensure_built()
        arrays = [as_float_array(a, f"state['arrays'][{k}]", self._dtype, ndim=(1, 2))
                  for k, a in enumerate(state["arrays"])]
        self._net.set_optimizer_state(arrays, int(state.get("step", 0)))
        self._epoch = int(state.get("epoch", 0))

    # ---------------------------------------------------------------- description

    def summary(self, print_fn=None) -> None:
        """Print each layer with its output size and parameter count."""
        print_fn = print_fn or print
        rows, d = [], self._input_dim
        for i, layer in enumerate(self._layers):
            n = sum(int(np.prod(s)) for _, s, _ in layer.param_specs(d)) if d else 0
            d = layer.output_dim(d) if d is not None else (
                layer.units if isinstance(layer, Dense) else None)
            rows.append((f"{i}: {layer!r}", "?" if d is None else f"(None, {d})",
                         str(n) if self._input_dim else "?"))
        w0 = max([len(r[0]) for r in rows] + [20])
        line = "-" * (w0 + 32)
        out = [f"Sequential (input_dim={self._input_dim}, dtype={self._dtype})", line,
               f"{'Layer':<{w0}}  {'Output':>16}  {'Params':>10}", line]
        out += [f"{a:<{w0}}  {b:>16}  {c:>10}" for a, b, c in rows]
        out.append(line)
        if self._input_dim:
            specs = self._param_specs()
            total = sum(int(np.prod(s)) for _, _, s, _ in specs)
            trainable = sum(int(np.prod(s)) for _, _, s, t in specs if t)
            out += [f"Total params: {total}", f"Trainable params: {trainable}",
                    f"Non-trainable params: {total - trainable}"]
        print_fn("\n".join(out))

    def __repr__(self):
        return (f"Sequential({self._layers!r}, input_dim={self._input_dim}, "
                f"dtype={self._dtype!r}, seed={self._seed})")

    def get_config(self) -> dict:
        """A JSON-able description: ``Sequential.from_config(model.get_config())`` rebuilds
        the architecture (weights not included)."""
        cfg = {"layers": [{"class": type(layer).__name__, "config": layer.get_config()}
                          for layer in self._layers],
               "input_dim": self._input_dim, "dtype": self._dtype, "seed": self._seed,
               "compile": None}
        if self._compile_args is not None:
            loss, opt, l1, l2 = self._compile_args
            cfg["compile"] = {"loss": loss, "optimizer": {"class": type(opt).__name__,
                                                          "config": opt.get_config()},
                              "l1": l1, "l2": l2, "metrics": list(self._metrics)}
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        if not isinstance(config, dict) or "layers" not in config:
            raise InvalidParameterError("config must be a dict from Sequential.get_config()")
        layers = []
        for k, entry in enumerate(config["layers"]):
            name = entry.get("class") if isinstance(entry, dict) else None
            if name not in LAYERS:
                raise ValueError(f"config['layers'][{k}] has unknown layer class {name!r}")
            layers.append(LAYERS[name].from_config(entry.get("config", {})))
        model = cls(layers, input_dim=config.get("input_dim"),
                    dtype=config.get("dtype", "float32"), seed=config.get("seed"))
        comp = config.get("compile")
        if comp:
            opt = comp["optimizer"]
            if opt["class"] not in _OPTIMIZER_CLASSES:
                raise ValueError(f"config has unknown optimizer class {opt['class']!r}")
            optimizer = _OPTIMIZER_CLASSES[opt["class"]].from_config(opt["config"])
            model.compile(comp["loss"], optimizer, comp.get("l1", 0.0), comp.get("l2", 0.0),
                          metrics=comp.get("metrics"))   # absent in files saved before metrics
        return model

    # ---------------------------------------------------------------- saving

    def save(self, path) -> None:
        """Write the model (architecture, weights, optimizer state) to one file."""
        from fastmlp.io import save_model

        save_model(self, path)

    def to_onnx(self, path):
        """Export for ONNX Runtime (needs ``pip install fastmlp[onnx]``)."""
        from fastmlp.onnx import export

        return export(self, path)

    def __getstate__(self):
        try:
            from fastmlp.io import model_to_bytes
        except ImportError:
            model_to_bytes = None
        if model_to_bytes is not None:
            return {"fastmlp_bytes": model_to_bytes(self)}
        return {"config": self.get_config(), "weights": self.get_weights(),
                "optimizer_state": self.get_optimizer_state(), "epoch": self._epoch}

    def __setstate__(self, state):
        if "fastmlp_bytes" in state:
            from fastmlp.io import model_from_bytes

            other = model_from_bytes(state["fastmlp_bytes"])
            self.__dict__.update(other.__dict__)
            if self._net is not None:
                self._attach_layers()
            return
        other = Sequential.from_config(state["config"])
        if state["weights"]:
            other.set_weights(state["weights"])
        if state.get("optimizer_state"):
            other.set_optimizer_state(state["optimizer_state"])
        other._epoch = state.get("epoch", 0)
        self.__dict__.update(other.__dict__)
        if self._net is not None:
            self._attach_layers()
