"""``keras.optimizers``: Keras' names, arguments, defaults and update rules.

Each is the engine's optimizer (``fastmlp.SGD``, ...) with ``rule="keras"``: the C++ kernels
run Keras 3's ``update_step`` (keras/src/optimizers/*.py), not torch's:

- ``SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None)``: velocity
  ``m = momentum * m - lr * g``, ``w += m`` (nesterov: ``w += momentum * m - lr * g``).
- ``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
  weight_decay=None)``: ``w -= lr * g / sqrt(v + epsilon)`` (centered: ``v - avg**2 +
  epsilon``), momentum on that increment.
- ``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
  weight_decay=None)``: ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) +
  epsilon)``; amsgrad takes the running maximum of ``v``.
- ``AdamW(learning_rate=0.001, weight_decay=0.004, ...)``.

``weight_decay`` is Keras' decoupled decay on every optimizer: ``w -= w * weight_decay * lr``
before the step, on every trainable array (biases and BatchNorm's gamma/beta included, as
Keras without ``exclude_from_weight_decay``).

Refused with a ValueError: gradient clipping (clipnorm, clipvalue, global_clipnorm), EMA,
loss scaling and gradient accumulation.
"""
from __future__ import annotations

from fastmlp import optimizers as _fm
from fastmlp import schedules as _schedules
from fastmlp.keras._compat import refuse_unsupported
from fastmlp.keras.optimizers import schedules

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Optimizer", "get", "schedules"]

Optimizer = _fm.Optimizer


def _refuse_extras(where, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                   ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                   gradient_accumulation_steps=None, name=None, **kwargs):
    refuse_unsupported(where, clipnorm=clipnorm, clipvalue=clipvalue,
                       global_clipnorm=global_clipnorm, use_ema=use_ema,
                       ema_overwrite_frequency=ema_overwrite_frequency,
                       loss_scale_factor=loss_scale_factor,
                       gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)


class _LearningRate:
    """Keras' ``optimizer.learning_rate``: the rate of the next step (a schedule's value at
    the steps taken so far; else what LearningRateScheduler or ReduceLROnPlateau set last),
    and settable to a number (applies from the next step), as in Keras 3."""

    _model_ref = None

    def _model(self):
        model = self._model_ref() if self._model_ref is not None else None
        return model if model is not None and model.optimizer is self else None

    @property
    def learning_rate(self) -> float:
        model = self._model()
        if callable(self.lr) and getattr(self.lr, "per_step", False):
            return float(self.lr(int(model._net.step) if model is not None and model.built
                                 else 0))
        if model is not None and model._current_lr is not None:
            return model._current_lr
        return float(self.lr(0)) if callable(self.lr) else float(self.lr)

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(self.lr, _schedules.Schedule):
            raise TypeError("This optimizer was created with a LearningRateSchedule as its "
                            "learning_rate, hence its learning rate is not settable")
        self.lr = _fm.check_lr(value, "learning_rate")
        model = self._model()
        if model is not None and model.built:
            model._set_lr(self.lr)


class SGD(_LearningRate, _fm.SGD):
    _saved_class = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 **kwargs):
        _refuse_extras("SGD", **kwargs)
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay or 0.0, rule="keras")


class RMSprop(_LearningRate, _fm.RMSprop):
    _saved_class = "RMSprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, **kwargs):
        _refuse_extras("RMSprop", **kwargs)
        super().__init__(learning_rate=learning_rate, alpha=rho, eps=epsilon,
                         momentum=momentum, centered=centered, weight_decay=weight_decay or 0.0,
                         rule="keras")


class Adam(_LearningRate, _fm.Adam):
    _saved_class = "Adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, **kwargs):
        _refuse_extras(type(self).__name__, **kwargs)
        super().__init__(learning_rate=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                         weight_decay=weight_decay or 0.0, amsgrad=amsgrad, rule="keras")
        if weight_decay:        # Keras 3's weight decay is decoupled: AdamW's rule
            self._decoupled, self._saved_class = True, "AdamW"


class AdamW(Adam):
    _saved_class = "AdamW"
    _decoupled = True

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


_NAMES = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(identifier):
    """An optimizer from one or a name, with Keras' defaults (``"adam"``: epsilon 1e-7)."""
    if isinstance(identifier, _fm.Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}: fastmlp.keras has {sorted(_NAMES)} "
                     f"(Adagrad, Adadelta, Adamax, Nadam, Ftrl, Lion are not supported)")
