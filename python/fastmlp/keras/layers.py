"""``keras.layers`` for MLPs: Keras' names and arguments over fastmlp's layers.

Each class is the native layer under its Keras name (``isinstance(layer, fm.Dense)`` holds) and
saves as the native class, so a model built here loads with ``fm.load`` too. Every layer has
Keras' ``name`` (given, or automatic: ``dense``, ``dense_1``, ...). Keras arguments the engine
has no counterpart for are refused with a ValueError naming them.
"""
from __future__ import annotations

import numpy as np

from fastmlp import layers as _fm
from fastmlp.keras._compat import auto_name, check_name, missing_name, refuse_unsupported
from fastmlp.keras.regularizers import get as get_regularizer

__all__ = ["Input", "InputLayer", "Dense", "Dropout", "BatchNormalization", "Activation",
           "GaussianNoise", "Normalization", "Flatten", "ReLU", "LeakyReLU", "Softmax", "ELU"]


def sample_shape(shape, where: str) -> tuple:
    """A sample's shape, ``(d,)`` or ``(28, 28)``: positive ints (ValueError otherwise)."""
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if not shape or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                        for s in shape):
        raise ValueError(f"{where}: shape must be positive sizes, e.g. (n_features,) or "
                         f"(28, 28), got {shape!r}")
    return tuple(int(s) for s in shape)


class Input:
    """``keras.Input(shape=(n_features,))``: the model's input size (a placeholder, not a
    layer: Sequential takes its size and builds). A shape of more axes, ``(28, 28)``, must be
    followed by ``Flatten()``."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 name=None, tensor=None, optional=False):
        refuse_unsupported("Input", sparse=sparse, tensor=tensor, optional=optional)
        if shape is None and batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        self.shape, self.dtype, self.name = sample_shape(shape, "Input"), dtype, name

    @property
    def input_dim(self) -> int:
        return int(np.prod(self.shape))

    def __repr__(self):
        return f"Input(shape={self.shape!r})"


InputLayer = Input


class _Named:
    """Keras' layer name: ``name=`` or automatic from the class (``Dense`` -> ``dense``,
    ``dense_1``, ...: one counter per prefix for the session, as Keras)."""

    _layer_name = None

    def _set_name(self, name) -> None:
        self._layer_name = (auto_name(type(self).__name__) if name is None
                            else check_name(name, type(self).__name__))

    @property
    def name(self) -> str:
        return self._layer_name

    @property
    def trainable(self) -> bool:
        """Always True: freezing layers is not supported (setting False is a ValueError)."""
        return True

    @trainable.setter
    def trainable(self, value) -> None:
        if not value:
            raise ValueError(f"fastmlp.keras does not support freezing layers "
                             f"({self._layer_name}.trainable = False)")

    @classmethod
    def from_saved(cls, config: dict, name):
        """The layer a file describes (the native class's config, the Keras name), without
        Keras' constructor: its arguments were already converted to the native ones."""
        layer = cls.__new__(cls)
        _fm.LAYERS[cls._saved_class].__init__(layer, **config)
        layer._set_name(name)
        return layer

    def __repr__(self):
        return f"<{type(self).__name__} name={self._layer_name}>"


def _penalties(kernel_regularizer):
    reg = get_regularizer(kernel_regularizer)
    return (None, None) if reg is None else reg.engine_penalties()


class Dense(_Named, _fm.Dense):
    """``keras.layers.Dense``: ``kernel_regularizer`` maps onto the engine's per-layer l1/l2
    (Keras' ``l2(a)`` is ``l2=2a`` there); the bias starts at zero."""

    _saved_class = "Dense"

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, *,
                 input_dim=None, input_shape=None, name=None, dtype=None, trainable=True):
        refuse_unsupported("Dense", bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                           lora_rank=lora_rank, trainable=not trainable)
        if bias_initializer not in ("zeros", "Zeros"):
            raise ValueError(f"fastmlp.keras Dense does not support "
                             f"bias_initializer={bias_initializer!r} (biases start at zero)")
        init = getattr(kernel_initializer, "fastmlp_name", kernel_initializer)
        l1, l2 = _penalties(kernel_regularizer)
        super().__init__(units, activation=activation, init=init, use_bias=use_bias, l1=l1,
                         l2=l2, input_dim=input_dim, input_shape=input_shape)
        self._set_name(name)


class Dropout(_Named, _fm.Dropout):
    """``keras.layers.Dropout(rate)``: the masks come from the model's seed."""

    _saved_class = "Dropout"

    def __init__(self, rate, noise_shape=None, seed=None, *, name=None, **kwargs):
        refuse_unsupported("Dropout", noise_shape=noise_shape, **kwargs)
        super().__init__(rate)
        self._set_name(name)


class GaussianNoise(_Named, _fm.GaussianNoise):
    """``keras.layers.GaussianNoise(stddev)``: the noise comes from the model's seed."""

    _saved_class = "GaussianNoise"

    def __init__(self, stddev, seed=None, *, name=None, **kwargs):
        refuse_unsupported("GaussianNoise", **kwargs)
        super().__init__(stddev)
        self._set_name(name)


class BatchNormalization(_Named, _fm.BatchNorm):
    """``keras.layers.BatchNormalization``: Keras' ``momentum`` is the weight of the old
    running statistics (0.99), the engine's (PyTorch's) that of the new batch: 1 - momentum.
    ``epsilon`` defaults to Keras' 1e-3. The running variance is updated with the biased
    batch variance, as Keras does (the engine's ``running_var="biased"``)."""

    _saved_class = "BatchNorm"

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, *, name=None, **kwargs):
        refuse_unsupported("BatchNormalization", beta_regularizer=beta_regularizer,
                           gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                           gamma_constraint=gamma_constraint, center=not center,
                           scale=not scale, **kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"fastmlp.keras BatchNormalization normalizes the features "
                             f"(axis=-1), got axis={axis!r}")
        for arg, value, want in (("beta_initializer", beta_initializer, "zeros"),
                                 ("gamma_initializer", gamma_initializer, "ones"),
                                 ("moving_mean_initializer", moving_mean_initializer, "zeros"),
                                 ("moving_variance_initializer", moving_variance_initializer,
                                  "ones")):
            if value != want:
                raise ValueError(f"fastmlp.keras BatchNormalization does not support "
                                 f"{arg}={value!r} (it starts at {want!r})")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization momentum must be in [0, 1], got {momentum!r}")
        super().__init__(momentum=1.0 - float(momentum), eps=epsilon, running_var="biased",
                         synchronized=synchronized)
        self._set_name(name)

    _warn_keras_momentum = False


class Activation(_Named, _fm.Activation):
    """``keras.layers.Activation("relu")``."""

    _saved_class = "Activation"

    def __init__(self, activation, *, name=None, **kwargs):
        refuse_unsupported("Activation", **kwargs)
        _fm.Activation.__init__(self, activation)
        self._set_name(name)


class Flatten(Activation):
    """``keras.layers.Flatten()``: first in a model (after ``Input(shape=(28, 28))``, or given
    ``input_shape=``), the model flattens each sample it is given (fit, evaluate, predict,
    batches) into a feature vector; after a layer, the data is flat already (an identity)."""

    def __init__(self, data_format=None, *, input_shape=None, name=None, **kwargs):
        refuse_unsupported("Flatten", **kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"fastmlp.keras Flatten keeps the samples' order "
                             f"(data_format='channels_last'), got {data_format!r}")
        _fm.Activation.__init__(self, "linear")
        self.sample_shape = None if input_shape is None else sample_shape(input_shape,
                                                                          "Flatten")
        self.input_dim_hint = None if input_shape is None else int(np.prod(self.sample_shape))
        self._set_name(name)


class ReLU(Activation):
    """``keras.layers.ReLU()`` (``negative_slope`` > 0: a leaky ReLU)."""

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0, *, name=None,
                 **kwargs):
        refuse_unsupported("ReLU", max_value=max_value, threshold=threshold, **kwargs)
        if negative_slope:
            _fm.Activation.__init__(self, "leaky_relu", alpha=negative_slope)
        else:
            _fm.Activation.__init__(self, "relu")
        self._set_name(name)


class LeakyReLU(Activation):
    """``keras.layers.LeakyReLU`` (Keras' default slope 0.3)."""

    def __init__(self, negative_slope=0.3, *, name=None, **kwargs):
        refuse_unsupported("LeakyReLU", **kwargs)
        _fm.Activation.__init__(self, "leaky_relu", alpha=negative_slope)
        self._set_name(name)


class Softmax(Activation):
    """``keras.layers.Softmax()`` over the features."""

    def __init__(self, axis=-1, *, name=None, **kwargs):
        refuse_unsupported("Softmax", **kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"fastmlp.keras Softmax works over the features (axis=-1), got "
                             f"{axis}")
        _fm.Activation.__init__(self, "softmax")
        self._set_name(name)


class ELU(Activation):
    """``keras.layers.ELU(alpha=1.0)``."""

    def __init__(self, alpha=1.0, *, name=None, **kwargs):
        refuse_unsupported("ELU", **kwargs)
        _fm.Activation.__init__(self, "elu", alpha=alpha)
        self._set_name(name)


class Normalization(_Named, _fm.Standardize):
    """``keras.layers.Normalization``: ``(x - mean) / sqrt(variance)``, from ``mean`` and
    ``variance`` given here or from :meth:`adapt` (data's mean and population variance);
    neither: learnt from the first data the model is fit on (the native ``Standardize``).
    Must be the model's first layer. Saves as ``Standardize``."""

    _saved_class = "Standardize"
    _stats = None               # (mean, std) from the arguments or adapt

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, *, name=None,
                 **kwargs):
        refuse_unsupported("Normalization", invert=invert, **kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"fastmlp.keras Normalization works over the features (axis=-1), "
                             f"got axis={axis!r}")
        super().__init__()
        self._set_name(name)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither")
        if mean is not None:
            self._set_stats(np.asarray(mean, dtype=np.float64).reshape(-1),
                            np.sqrt(np.asarray(variance, dtype=np.float64).reshape(-1)))

    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of ``data`` (n_samples, n_features)."""
        X = np.asarray(data, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"Normalization.adapt needs a 2-D array of samples, got shape "
                             f"{X.shape}")
        self._set_stats(*_fm.Standardize.statistics(X))

    def _set_stats(self, mean, std):
        std = np.where(std > 0, std, 1.0)      # constant features: std 1, as Standardize
        self._stats = (mean, std)
        model = self._model_ref() if self._model_ref is not None else None
        if model is not None and model.built:
            self.set_weights([mean, std])
        self._fitted = True

    def init_params(self, input_dim, rng):
        if self._stats is None:
            return super().init_params(input_dim, rng)
        mean, std = self._stats
        if len(mean) != input_dim and len(mean) != 1:
            raise ValueError(f"Normalization was adapted to {len(mean)} features, the model "
                             f"has {input_dim}")
        return [np.broadcast_to(mean, (input_dim,)).copy(),
                np.broadcast_to(std, (input_dim,)).copy()]


#: the Keras layer classes by name (how a saved model gets them back)
KERAS_LAYERS = {cls.__name__: cls for cls in (Dense, Dropout, GaussianNoise, BatchNormalization,
                                              Activation, Flatten, ReLU, LeakyReLU, Softmax,
                                              ELU, Normalization)}


def __getattr__(name):
    # Flatten, Conv2D, Embedding, ...: an MLP engine has the layers above only.
    raise missing_name("keras.layers", name, __all__)
