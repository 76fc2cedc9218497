"""Layers: small descriptions the model turns into one C++ network.

A layer holds its constructor arguments (validated here) and knows its output size, the
shapes of its arrays, how to initialize them (NumPy, float64, then the model's dtype) and the
dict the engine builds it from (``docs/core_network.md``). The arrays themselves live in the
C++ network; ``Sequential.get_weights()`` returns copies in layer order.
"""
from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real

import numpy as np

from fastmlp._validation import Interval, Options, validate_params
from fastmlp.activations import ACTIVATIONS, resolve_activation
from fastmlp.errors import InvalidParameterError
from fastmlp.initializers import INITIALIZERS, initialize

__all__ = [
    "Layer", "Dense", "Activation", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus",
    "Softmax", "ELU", "GELU", "SiLU", "Dropout", "BatchNorm", "GaussianNoise", "Standardize",
    "LAYERS", "param_specs",
]

_PENALTY = [None, Interval(Real, 0, None)]


class Layer:
    """Base class. Subclasses set ``_params`` (constructor argument names) and
    ``_constraints``, and override the hooks below as needed."""

    _params: tuple = ()
    _constraints: dict = {}

    def _validate(self):
        validate_params(type(self).__name__, {p: getattr(self, p) for p in self._params},
                        self._constraints)

    def get_config(self) -> dict:
        """Constructor arguments as a JSON-able dict: ``type(layer)(**layer.get_config())``."""
        return {p: getattr(self, p) for p in self._params}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def output_dim(self, input_dim: int) -> int:
        return input_dim

    def param_specs(self, input_dim: int) -> list:
        """``[(name, shape, trainable)]`` of this layer's arrays, in ``get_weights()`` order."""
        return []

    def init_params(self, input_dim: int, rng: np.random.Generator) -> list:
        """Initial values (float64) of the arrays in ``param_specs`` order."""
        return []

    #: the engine's name for this layer kind (``docs/core_network.md``)
    _kind: str = ""

    def core_dict(self) -> dict:
        """What the engine builds this layer from: its kind and its constructor arguments."""
        return {"kind": self._kind, **self.get_config()}

    def _set_numbers(self, **values) -> None:
        """Set the constructor's numeric arguments, validate them, keep them as floats."""
        self.__dict__.update(values)
        self._validate()
        self.__dict__.update({k: float(v) for k, v in values.items()})

    # A built model attaches its layers (weakly): layer.get_weights() as in Keras.
    _model_ref = None
    _offset = 0

    def _arrays(self):
        model = self._model_ref() if self._model_ref is not None else None
        if model is None or not model.built:
            return None, 0
        return model, len(self.param_specs(1))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_model_ref", None)     # a weak reference does not pickle (nor should it)
        return state

    def get_weights(self) -> list:
        """Copies of this layer's arrays (empty before its model is built)."""
        model, n = self._arrays()
        if model is None:
            return []
        return model.get_weights()[self._offset:self._offset + n]

    def set_weights(self, weights) -> None:
        """Set this layer's arrays (shapes checked by the model)."""
        model, n = self._arrays()
        if model is None:
            raise ValueError("this layer's model is not built yet")
        weights = list(weights)
        if len(weights) != n:
            raise ValueError(f"{type(self).__name__} has {n} arrays, got {len(weights)}")
        allw = model.get_weights()
        allw[self._offset:self._offset + n] = weights
        model.set_weights(allw)

    @property
    def activation_name(self) -> str | None:
        """The activation this layer ends with, if any (to spot a softmax before a fused loss)."""
        return None

    def __repr__(self):
        # Only what differs from the constructor's defaults: Dense(units=256, init='he_normal').
        try:
            params = inspect.signature(type(self).__init__).parameters
        except (TypeError, ValueError):
            params = {}
        shown = []
        for k, v in self.get_config().items():
            p = params.get(k)
            if p is not None and p.default is not p.empty and p.default == v:
                continue
            shown.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _input_dim_hint(input_dim, input_shape):
    """Keras' input_dim=d / input_shape=(d,) on a layer -> d (None when neither is given)."""
    if input_shape is not None:
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else (input_shape,)
        if len(shape) != 1:
            raise ValueError(f"input_shape must be (n_features,) for an MLP, got {input_shape!r}")
        if input_dim is not None and input_dim != shape[0]:
            raise ValueError(f"input_dim={input_dim!r} and input_shape={input_shape!r} disagree")
        input_dim = shape[0]
    if input_dim is None:
        return None
    validate_params("Dense", {"input_dim": input_dim}, {"input_dim": [Interval(Integral, 1, None)]})
    return int(input_dim)


class Dense(Layer):
    """Fully connected layer ``activation(x @ W + b)``, W of shape ``(in_dim, units)``.

    Parameters
    ----------
    units : int
        Output size, >= 1.
    activation : str or Activation, optional
        Applied after the affine map (fused into the GEMM); ``None`` is linear.
    init : str
        One of :data:`fastmlp.initializers.INITIALIZERS`. Biases start at zero.
    use_bias : bool
    l1, l2 : float, optional
        Penalties on this layer's W, overriding ``compile``'s ``l1``/``l2``.
    kernel_initializer, input_dim, input_shape : optional
        Keras' spellings, so Keras code runs unchanged: ``kernel_initializer`` is ``init``;
        ``input_dim=d`` or ``input_shape=(d,)`` on the model's first Dense sets the model's
        ``input_dim``.
    """

    _params = ("units", "activation", "init", "use_bias", "l1", "l2")
    _constraints = {
        "units": [Interval(Integral, 1, None)],
        "init": [Options(sorted(INITIALIZERS))],
        "use_bias": ["boolean"],
        "l1": _PENALTY,
        "l2": _PENALTY,
    }

    def __init__(self, units, activation=None, init="glorot_uniform", use_bias=True, l1=None,
                 l2=None, *, kernel_initializer=None, input_dim=None, input_shape=None):
        if kernel_initializer is not None:
            if init != "glorot_uniform" and init != kernel_initializer:
                raise InvalidParameterError(
                    f"Dense got init={init!r} and kernel_initializer={kernel_initializer!r}: "
                    f"give one (kernel_initializer is Keras' name for init)")
            init = kernel_initializer
        self.input_dim_hint = _input_dim_hint(input_dim, input_shape)
        self.units, self.init, self.use_bias, self.l1, self.l2 = units, init, use_bias, l1, l2
        if isinstance(activation, Activation):
            self._act, self._alpha = activation._act, activation._alpha
            params = activation.get_config()
            params.pop("name", None)
            activation = activation._act if not params else {"name": activation._act, **params}
        elif isinstance(activation, dict):  # {"name": ..., **params}, as get_config writes
            params = dict(activation)
            self._act, self._alpha = resolve_activation(params.pop("name", None), params)
        else:
            self._act, self._alpha = resolve_activation(activation)
        self.activation = activation
        self._validate()
        self.units, self.use_bias = int(units), bool(use_bias)
        self.l1 = None if l1 is None else float(l1)
        self.l2 = None if l2 is None else float(l2)

    def output_dim(self, input_dim):
        return self.units

    def param_specs(self, input_dim):
        specs = [("W", (input_dim, self.units), True)]
        if self.use_bias:
            specs.append(("b", (self.units,), True))
        return specs

    def init_params(self, input_dim, rng):
        out = [initialize(self.init, rng, input_dim, self.units)]
        if self.use_bias:
            out.append(np.zeros(self.units))
        return out

    def core_dict(self):
        return {"kind": "dense", "units": self.units, "use_bias": self.use_bias,
                "activation": self._act, "alpha": self._alpha, "l1": self.l1, "l2": self.l2}

    @property
    def activation_name(self):
        return self._act


class Activation(Layer):
    """An element-wise activation (or a row-wise softmax): ``Activation("leaky_relu", alpha=0.2)``.
    """

    def __init__(self, name, **params):
        self._act, self._alpha = resolve_activation(name, params, argname="name")
        self._activation, self._kw = name, dict(params)

    @property
    def name(self):
        """The activation's name, as given (``fastmlp.keras`` layers: the layer's name)."""
        return self._activation

    def get_config(self):
        return {"name": self._activation, **self._kw}

    def core_dict(self):
        return {"kind": "activation", "name": self._act, "alpha": self._alpha}

    @property
    def activation_name(self):
        return self._act


def _shortcut(cls_name: str, act: str, doc: str):
    has_alpha = "alpha" in ACTIVATIONS[act]

    if has_alpha:
        default = ACTIVATIONS[act]["alpha"]

        def __init__(self, alpha=default):
            Activation.__init__(self, act, alpha=alpha)

        def get_config(self):
            return {"alpha": self._kw["alpha"]}
    else:
        def __init__(self):
            Activation.__init__(self, act)

        def get_config(self):
            return {}

    return type(cls_name, (Activation,), {"__init__": __init__, "get_config": get_config,
                                          "__doc__": doc, "__module__": __name__})


ReLU = _shortcut("ReLU", "relu", "``max(x, 0)``.")
LeakyReLU = _shortcut("LeakyReLU", "leaky_relu", "``x if x > 0 else alpha * x``.")
Sigmoid = _shortcut("Sigmoid", "sigmoid", "``1 / (1 + exp(-x))``.")
Tanh = _shortcut("Tanh", "tanh", "``tanh(x)``.")
Softplus = _shortcut("Softplus", "softplus", "``log(1 + exp(x))``.")
Softmax = _shortcut("Softmax", "softmax", "Row-wise softmax (do not use before a fused loss).")
ELU = _shortcut("ELU", "elu", "``x if x > 0 else alpha * (exp(x) - 1)``.")
GELU = _shortcut("GELU", "gelu", "``x * Phi(x)`` (exact, erf form).")
SiLU = _shortcut("SiLU", "silu", "``x * sigmoid(x)`` (also called swish).")


class Dropout(Layer):
    """Inverted dropout: in training each unit of each sample is dropped with probability
    ``rate`` and the kept ones are scaled by ``1 / (1 - rate)``; identity at inference."""

    _params = ("rate",)
    _constraints = {"rate": [Interval(Real, 0, 1, closed="left")]}
    _kind = "dropout"

    def __init__(self, rate):
        self._set_numbers(rate=rate)


class BatchNorm(Layer):
    """Batch normalization with PyTorch's ``BatchNorm1d`` semantics.

    Training: normalize with the batch mean and (biased) variance, and update
    ``running = (1 - momentum) * running + momentum * batch`` (the unbiased batch variance, or
    with ``running_var="biased"`` the biased one, as Keras' ``BatchNormalization``).
    Inference: use the running statistics. Arrays: ``gamma, beta, running_mean, running_var``.

    ``synchronized=True`` (Keras' name; PyTorch's SyncBatchNorm): in ``fit(...,
    distributed=comm)`` the batch statistics (and their gradients) are those of the global
    batch, every rank's rows together; elsewhere it changes nothing.
    """

    _params = ("momentum", "eps")
    _constraints = {"momentum": [Interval(Real, 0, 1)],
                    "eps": [Interval(Real, 0, None, closed="neither")]}
    _kind = "batchnorm"
    _warn_keras_momentum = True     # fastmlp.keras' BatchNormalization converts it already

    def __init__(self, momentum=0.1, eps=1e-5, synchronized=False, *, running_var="unbiased"):
        if running_var not in ("unbiased", "biased"):
            raise InvalidParameterError(
                f"The 'running_var' parameter of BatchNorm must be 'unbiased' or 'biased'. Got "
                f"{running_var!r} instead.")
        validate_params("BatchNorm", {"synchronized": synchronized},
                        {"synchronized": ["boolean"]})
        self.running_var = running_var
        self.synchronized = bool(synchronized)
        self._set_numbers(momentum=momentum, eps=eps)
        if self.momentum > 0.5 and self._warn_keras_momentum:
            # Keras' momentum is the weight of the old statistics (0.99 there is 0.01 here):
            # copied over, it would make the running statistics follow the last batch.
            warnings.warn(
                f"BatchNorm(momentum={self.momentum:g}) follows PyTorch: it is the weight of the "
                f"new batch, so the running statistics follow the last batches closely. Keras' "
                f"momentum={self.momentum:g} is momentum={1 - self.momentum:.2g} here.",
                UserWarning, stacklevel=2)

    def get_config(self) -> dict:
        # Each only when set: configs (and saved files) of other models are unchanged.
        cfg = super().get_config()
        if self.running_var != "unbiased":
            cfg["running_var"] = self.running_var
        if self.synchronized:
            cfg["synchronized"] = True
        return cfg

    def param_specs(self, input_dim):
        return [("gamma", (input_dim,), True), ("beta", (input_dim,), True),
                ("running_mean", (input_dim,), False), ("running_var", (input_dim,), False)]

    def init_params(self, input_dim, rng):
        return [np.ones(input_dim), np.zeros(input_dim), np.zeros(input_dim), np.ones(input_dim)]


class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise in training only (a regularizer); identity at inference."""

    _params = ("stddev",)
    _constraints = {"stddev": [Interval(Real, 0, None)]}
    _kind = "noise"

    def __init__(self, stddev):
        self._set_numbers(stddev=stddev)


class Standardize(Layer):
    """``(x - mean) / std`` with mean and population std of the first data the model is fit
    on, frozen afterwards; constant features get std 1. Must be the first layer."""

    _kind = "standardize"

    def __init__(self):
        self._fitted = False

    def param_specs(self, input_dim):
        return [("mean", (input_dim,), False), ("std", (input_dim,), False)]

    def init_params(self, input_dim, rng):
        return [np.zeros(input_dim), np.ones(input_dim)]

    @staticmethod
    def statistics(X: np.ndarray, sum_over=None):
        """Mean and population std of the columns of X (float64), std 1 where constant.
        ``sum_over(a)``, given, sums a float64 array over the parts of a data set split
        between processes (distributed training): the statistics are then the whole set's."""
        if sum_over is None:
            mean = X.mean(axis=0, dtype=np.float64)
            std = X.std(axis=0, dtype=np.float64)
        else:   # two passes, as NumPy's std, each summed over the parts
            s = sum_over(np.append(X.sum(axis=0, dtype=np.float64), len(X)))
            mean = s[:-1] / s[-1]
            std = np.sqrt(sum_over(((X - mean) ** 2).sum(axis=0)) / s[-1])
        std[std <= 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0
        return mean, std


LAYERS = {c.__name__: c for c in (Dense, Activation, ReLU, LeakyReLU, Sigmoid, Tanh, Softplus,
                                  Softmax, ELU, GELU, SiLU, Dropout, BatchNorm, GaussianNoise,
                                  Standardize)}


def param_specs(layers, input_dim: int) -> list:
    """``[(layer_index, name, shape, trainable)]`` of a stack of layers fed ``input_dim``
    features, in ``get_weights()`` order: what each layer says of its own arrays."""
    out, d = [], input_dim
    for i, layer in enumerate(layers):
        for name, shape, trainable in layer.param_specs(d):
            out.append((i, name, shape, trainable))
        d = layer.output_dim(d)
    return out
