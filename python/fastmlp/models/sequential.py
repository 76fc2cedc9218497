"""``Sequential``: the Keras-style model over one C++ ``_core.Network``.

The model half lives here: layers, building the engine's network, initial weights (NumPy,
per-layer child seeds), predict, weights, config and saving. The training half (compile, fit,
evaluate) is its base class, ``fastmlp.trainers.Trainer``. Python validates and converts
input once; the engine owns every array and runs whole epochs with the GIL released. See
``docs/core_network.md`` for the contract between the two.
"""
from __future__ import annotations

import os
import threading
import weakref
from numbers import Integral

import numpy as np

from fastmlp import _core
from fastmlp._validation import (
    Interval,
    as_float_array,
    batch_rows,
    check_dtype_policy,
    check_finite,
    check_X,
    validate_params,
)
from fastmlp.errors import InvalidParameterError
from fastmlp.layers import LAYERS, Dense, Dropout, GaussianNoise, Layer, Standardize, param_specs
from fastmlp.losses import Huber, check_last_layer, fused_link
from fastmlp.optimizers import OPTIMIZERS
from fastmlp.quantization import QuantizedModel, check_mode, quantize_int8
from fastmlp.quantization import links as quantized_links
from fastmlp.saving import model_to_bytes, read_model, save_model
from fastmlp.trainers import Trainer

__all__ = ["Sequential", "saved_class"]


def saved_class(obj) -> str:
    """The class name a config records for a layer or optimizer: its own, or the native
    class it stands for (``_saved_class``, set by the Keras-named subclasses of
    ``fastmlp.keras``), so any saved model loads with ``fm.load``."""
    return getattr(obj, "_saved_class", None) or type(obj).__name__

_OPTIMIZER_CLASSES = {cls.__name__: cls for cls in OPTIMIZERS.values()}


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):   # not POSIX: only the absurd is refused
        return 2**47


class Sequential(Trainer):
    """A stack of layers trained as one network (compile, fit and evaluate come from
    :class:`fastmlp.trainers.Trainer`).

    Parameters
    ----------
    layers : list of Layer, optional
        More may be added with :meth:`add` until the model is built.
    input_dim : int, optional
        Number of input features; if omitted, fixed by the first ``fit`` (or ``predict``).
    dtype : "float32", "float64" or "mixed_bfloat16"
        The dtype policy (Keras 3's names). "mixed_bfloat16" keeps weights, optimizer state,
        BatchNorm statistics, losses and outputs in float32 and runs every Dense GEMM
        (forward, both backward GEMMs, inference) on operands rounded to bfloat16 with
        float32 accumulation; ``model.dtype`` is then "float32" and ``model.dtype_policy``
        "mixed_bfloat16" (settable, e.g. to run a float32-trained model in bf16).
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
        self._dtype, self._dtype_policy = check_dtype_policy(dtype)
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
        self._init_trainer()
        self._engine_fused = False     # whether _net was built with the final link left out
        for layer in layers:
            self._append(layer)
        self._build_if_known()

    # ---------------------------------------------------------------- structure

    def add(self, layer: Layer) -> None:
        """Append a layer. On a built model that has not been trained yet the network is
        rebuilt with the earlier layers' weights kept (Keras' add); once trained, build a new
        model."""
        kept = self._unbuild_for("add", "add layers to")
        self._append(layer)
        self._build_if_known(kept)

    def _append(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise InvalidParameterError(
                f"layers must be fastmlp layers (fm.Dense, fm.Activation, ...), got "
                f"{type(layer).__name__}")
        if isinstance(layer, Standardize) and self._layers:
            raise ValueError("Standardize must be the first layer (it standardizes the input "
                             "features)")
        if any(layer is other for other in self._layers):
            raise ValueError("the same layer object appears twice; create a new one")
        self._check_output_layer(self._layers + [layer])
        self._take_input_dim_hint(layer)
        self._layers.append(layer)

    def _unbuild_for(self, what, verb):
        """Before add/pop on a built model: its weights (to keep), the network dropped. A
        trained model (optimizer state, training progress) is refused."""
        if self._net is None:
            return None
        if self.quantized_model is not None:
            raise ValueError(f"cannot {verb} a quantized model: build a new Sequential")
        if self._epoch > 0 or int(self._net.step) > 0:
            raise ValueError(f"cannot {verb} a model that is already built and trained: build "
                             f"a new Sequential from the layers you want, e.g. "
                             f"model.layers[:-1]")
        kept = self.get_weights()
        self._net = None
        return kept

    def _build_if_known(self, kept=None) -> None:
        """Keras builds a model whose input size is known at construction (and after add):
        so does this, the weights the same draws whenever the build happens. A model too
        large for memory (or otherwise unbuildable) stays unbuilt here and reports that on
        first use, as before."""
        if self._input_dim is None or not self._layers:
            return
        try:
            self._build(kept)
        except (MemoryError, ValueError):
            if kept is not None:
                raise

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

        As with :meth:`add`: a built model not trained yet is rebuilt with the remaining
        layers' weights kept; a trained one is refused (build a new ``Sequential`` from
        ``model.layers[:-1]`` instead). On a compiled model the layer that becomes the last
        one is checked against the loss (as ``compile`` does), and nothing is removed when
        that check fails.
        """
        if not self._layers:
            raise ValueError("pop: the model has no layers to remove")
        self._check_output_layer(self._layers[:-1])
        kept = self._unbuild_for("pop", "pop layers from")
        layer = self._layers.pop()
        if kept is not None:
            kept = kept[:len(kept) - len(layer.param_specs(1))]
            layer._model_ref = None
            self._build_if_known(kept)
        return layer

    def _check_output_layer(self, layers, loss=None) -> None:
        """A loss that fuses the softmax/sigmoid (``loss``, else the compiled one; nothing to
        check before compile) needs a last layer without that activation."""
        if loss is None:
            if self._compile_config is None:
                return
            loss = self._compile_config.loss
        check_last_layer(loss, layers, (Dropout, GaussianNoise))

    def _fuses_link(self) -> bool:
        """Whether the compiled loss takes the last layer's softmax/sigmoid as its link."""
        cfg = self._compile_config
        return cfg is not None and fused_link(cfg.loss, self._layers)

    def _core_layers(self) -> list:
        """What the engine builds: the layers' dicts, less the final softmax/sigmoid when the
        loss fuses it (the engine trains on the logits; predict applies the link)."""
        dicts = [layer.core_dict() for layer in self._layers]
        if self._fuses_link():
            if dicts[-1]["kind"] == "dense":
                dicts[-1] = {**dicts[-1], "activation": "linear", "alpha": 0.0}
            else:
                dicts.pop()
        return dicts

    def _compile_engine(self, net):
        # compile may change whether the final link is fused: the network is then rebuilt
        # around the same arrays (activations own none, so their order is unchanged).
        if net is self._net and self._engine_fused != self._fuses_link():
            weights = [np.array(p, copy=True) for p in net.params()]
            net = self._new_network()
            for view, value in zip(net.params(), weights):
                view[...] = value
            self._net = net
            self._attach_layers()
        super()._compile_engine(net)

    def _new_network(self):
        self._engine_fused = self._fuses_link()
        net = _core.Network(self._core_layers(), self._input_dim, self._dtype, self._seed)
        # Every network gets the policy, also the one compile rebuilds around a fused link.
        net.bf16 = self._dtype_policy == "mixed_bfloat16"
        return net

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
        """The dtype of weights, optimizer state, losses and outputs."""
        return self._dtype

    @property
    def dtype_policy(self) -> str:
        """"float32", "float64" or "mixed_bfloat16" (Dense GEMMs on bf16 operands).

        Settable between "float32" and "mixed_bfloat16" on a float32 model at any time
        (between training steps): the weights stay as they are, only the GEMMs change.
        """
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, policy) -> None:
        dtype, policy = check_dtype_policy(policy, "dtype_policy")
        if dtype != self._dtype:
            raise InvalidParameterError(
                f"The 'dtype_policy' parameter cannot change the model's dtype {self._dtype!r} "
                f"(policy {policy!r} keeps {dtype}); build a new model for that")
        with self._lock:
            self._dtype_policy = policy
            if self._net is not None:
                self._net.bf16 = policy == "mixed_bfloat16"

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def built(self) -> bool:
        return self._net is not None

    def _param_specs(self):
        """``[(layer_index, name, shape, trainable)]`` in get_weights() order."""
        return param_specs(self._layers, self._input_dim)

    def _param_names(self):
        return [f"{type(self._layers[i]).__name__.lower()}_{i}/{name}"
                for i, name, _, _ in self._param_specs()]

    def build(self, input_dim=None) -> None:
        """Create the engine's network and draw initial weights (done at construction when
        the input size is known, else on first use)."""
        self._build(None, input_dim)

    def _build(self, kept=None, input_dim=None) -> None:
        """build; ``kept``: arrays for the first layers (add/pop keep them), drawn otherwise."""
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
            if kept:
                init[:len(kept)] = kept
            net = self._new_network()
            params = net.params()
            if len(params) != len(init):
                raise RuntimeError(f"engine exposes {len(params)} arrays, expected {len(init)}")
            for view, value in zip(params, init):
                view[...] = value.astype(self._dtype, copy=False)
            if self._compile_config is not None:
                self._compile_engine(net)
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

    # ---------------------------------------------------------------- data and inference

    def _fit_standardize(self, X: np.ndarray, comm=None) -> None:
        """Standardize learns mean/std from the first data the model is trained on (with
        ``comm``, a distributed fit: every rank's rows)."""
        if self._layers and isinstance(self._layers[0], Standardize) \
                and not self._layers[0]._fitted:
            mean, std = Standardize.statistics(X, None if comm is None else comm.allreduce)
            params = self._net.params()
            params[0][...] = mean
            params[1][...] = std
            self._layers[0]._fitted = True

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
        calls reproducible from the model's seed. ``batch_size``: rows per pass through the
        network (bounds memory, as in Keras; None runs all rows at once)."""
        if not isinstance(training, (bool, np.bool_)):
            raise InvalidParameterError(f"training must be a bool, got {training!r}")
        if self.quantized_model is not None:
            return self._predict_quantized(X, training, batch_size)
        link = self._compile_config is not None
        if self._net is not None and type(X) is np.ndarray and X.ndim == 2 and X.size \
                and X.shape[1] == self._input_dim and X.dtype == self._dtype \
                and X.flags.c_contiguous and X.flags.aligned:
            # Already what the engine takes (the latency path): it checks shape and
            # finiteness itself, with the GIL released.
            if batch_size is None:
                return self._net.predict(X, bool(training), link, True)
            ready = True
        else:
            X, ready = self._convert_X(X), False
        return self._predict_in_batches(X, bool(training), link, ready,
                                        batch_rows(batch_size, len(X), "predict"))

    def _predict_in_batches(self, X, training, link, check_finite, rows):
        # Apart from predict: a comprehension there would turn its locals into closure cells,
        # which costs the latency path ~80 ns a call (CPython 3.11).
        return np.concatenate([self._net.predict(X[i:i + rows], training, link, check_finite)
                               for i in range(0, len(X), rows)])

    # ---------------------------------------------------------------- int8

    def quantize(self, mode) -> None:
        """Post-training quantization in place (Keras 3's name): ``model.quantize("int8")``.

        Every Dense layer becomes int8 weights, symmetric with one scale per output column,
        after BatchNorm (and Standardize) are folded into the Dense layers around them;
        activations are quantized per row at predict time (u8 with a zero point) and the int32
        products dequantized with bias and activation in the GEMM's epilogue (AVX512-VNNI
        where the CPU has it, a portable path elsewhere). The model then predicts (float32
        outputs), evaluates, saves, loads, pickles and exports to ONNX; it refuses to train.
        ``get_weights`` still returns the float weights it was quantized from.

        Raises ValueError for an unknown ``mode``, an unbuilt model, a second call, or a
        layer stack that cannot be folded.
        """
        check_mode(mode)
        if self._net is None:
            raise ValueError("quantize needs a built model with trained weights: fit it (or "
                             "build(input_dim) and set_weights) first")
        if self.quantized_model is not None:
            raise ValueError("the model is already quantized (int8); quantize it only once")
        with self._lock:
            self.quantized_model = quantize_int8(self._layers, self.get_weights(),
                                                 self._input_dim)

    @property
    def quantized(self) -> str | None:
        """``"int8"`` after :meth:`quantize`, else None."""
        return None if self.quantized_model is None else self.quantized_model.mode

    def _predict_quantized(self, X, training, batch_size):
        if training:
            raise ValueError("a quantized model predicts in inference mode only "
                             "(training=True needs the float model)")
        q = self.quantized_model
        if not (type(X) is np.ndarray and X.ndim == 2 and X.size and X.dtype == np.float32
                and X.shape[1] == self._input_dim and X.flags.c_contiguous):
            X = check_X(X, np.float32, self._input_dim)   # else the engine checks finiteness
        links = self._quantized_links(inference=True)
        if batch_size is None:
            return q.predict(X, links)
        rows = batch_rows(batch_size, len(X), "predict")
        return np.concatenate([q.predict(X[i:i + rows], links) for i in range(0, len(X), rows)])

    def _quantized_links(self, inference):
        cfg = self._compile_config
        return quantized_links(self.quantized_model.output_activation,
                               None if cfg is None else cfg.loss, inference)

    def _evaluate_engine(self, X, y, rows, sample_weight):
        if self.quantized_model is None:
            return super()._evaluate_engine(X, y, rows, sample_weight)
        # The int8 outputs as the float engine gives them to the loss and metrics.
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        links = self._quantized_links(inference=False)
        Z = np.concatenate([self.quantized_model.predict(X32[i:i + rows], links)
                            for i in range(0, len(X32), max(rows, 1))])
        return self._net.evaluate_outputs(Z.astype(self._dtype, copy=False), y, sample_weight)

    def _penalty(self) -> float:
        """The compiled L1/L2 penalty on the Dense weights, in float64 (NumPy)."""
        params, k, total = self._net.params(), 0, 0.0
        for layer in self._layers:
            if isinstance(layer, Dense):
                W = np.asarray(params[k], dtype=np.float64)
                a1, a2 = self._compile_config.penalties(layer)
                total += a1 * np.abs(W).sum() + 0.5 * a2 * (W * W).sum()
            k += len(layer.param_specs(1))
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
        if self.quantized_model is not None:
            raise ValueError("cannot set the weights of a quantized model: its int8 weights are "
                             "fixed; set them on the float model, then quantize")
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
        if self._net is None or self._compile_config is None:
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
        out = [f"Sequential (input_dim={self._input_dim}, dtype={self._dtype_policy})", line,
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
                f"dtype={self._dtype_policy!r}, seed={self._seed})")

    def get_config(self) -> dict:
        """A JSON-able description: ``Sequential.from_config(model.get_config())`` rebuilds
        the architecture (weights not included)."""
        cfg = {"layers": [{"class": saved_class(layer), "config": layer.get_config()}
                          for layer in self._layers],
               "input_dim": self._input_dim, "dtype": self._dtype, "seed": self._seed,
               "compile": None}
        if self._dtype_policy != self._dtype:  # "dtype" stays the weights' dtype (file format)
            cfg["dtype_policy"] = self._dtype_policy
        comp = self._compile_config
        if comp is not None:
            opt = comp.optimizer
            cfg["compile"] = {"loss": comp.loss, "optimizer": {"class": saved_class(opt),
                                                               "config": opt.get_config()},
                              "l1": comp.l1, "l2": comp.l2, "metrics": list(comp.metrics)}
            if comp.loss == "huber":
                cfg["compile"]["huber_delta"] = comp.huber_delta
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        if not isinstance(config, dict) or "layers" not in config:
            raise InvalidParameterError("config must be a dict from Sequential.get_config()")
        layers = []
        for k, entry in enumerate(config["layers"]):
            name = entry.get("class") if isinstance(entry, dict) else None
            if name not in LAYERS:
                raise ValueError(f"config['layers'][{k}] has unknown layer class {name!r}")
            layers.append(cls._layer_from_config(entry))
        model = cls(layers, input_dim=config.get("input_dim"),
                    dtype=config.get("dtype_policy", config.get("dtype", "float32")),
                    seed=config.get("seed"))
        comp = config.get("compile")
        if comp:
            opt = comp["optimizer"]
            if opt["class"] not in _OPTIMIZER_CLASSES:
                raise ValueError(f"config has unknown optimizer class {opt['class']!r}")
            optimizer = _OPTIMIZER_CLASSES[opt["class"]].from_config(opt["config"])
            loss = comp["loss"]
            if loss == "huber":
                loss = Huber(comp.get("huber_delta", 1.0))
            # The native compile (a subclass may order its arguments as Keras does).
            Sequential.compile(model, loss, optimizer, comp.get("l1", 0.0), comp.get("l2", 0.0),
                               metrics=comp.get("metrics"))   # absent in files saved before metrics
        return model

    @classmethod
    def _layer_from_config(cls, entry: dict) -> Layer:
        """One layer of a config (its class known): the native class (a subclass may restore
        its own classes from what its get_config adds to the entry)."""
        return LAYERS[entry["class"]].from_config(entry.get("config", {}))

    # ---------------------------------------------------------------- saving

    def save(self, path) -> None:
        """Write the model (architecture, weights, optimizer state) to one file."""
        save_model(self, path)

    def to_bytes(self) -> bytes:
        """The model as the bytes :meth:`save` writes (``fastmlp.io``'s format)."""
        return model_to_bytes(self)

    @classmethod
    def from_bytes(cls, data) -> Sequential:
        """Rebuild a model from :meth:`to_bytes` output, every check of ``fm.load`` passed."""
        return cls._from_parts(*read_model(data))

    @classmethod
    def _from_parts(cls, config, weights, state, quantized=None) -> Sequential:
        """The model from a file's checked parts (``read_model``)."""
        try:
            model = cls.from_config(config)
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"invalid model config: {exc}") from exc
        if weights:
            model.set_weights(weights)
        if state is not None:
            try:
                model.set_optimizer_state(state)
            except (TypeError, KeyError, IndexError) as exc:
                raise ValueError(f"invalid optimizer state: {exc}") from exc
        if quantized is not None:
            if model._input_dim is None:
                raise ValueError("invalid model file: a quantized model without input_dim")
            model.quantized_model = QuantizedModel.from_parts(model._input_dim, *quantized)
        return model

    def to_onnx(self, path):
        """Export for ONNX Runtime (needs ``pip install fastmlp[onnx]``)."""
        from fastmlp.onnx import export

        return export(self, path)

    def __getstate__(self):
        return {"fastmlp_bytes": self.to_bytes()}

    def __setstate__(self, state):
        other = type(self).from_bytes(state["fastmlp_bytes"])   # keras.Sequential: its names
        self.__dict__.update(other.__dict__)
        if self._net is not None:
            self._attach_layers()
