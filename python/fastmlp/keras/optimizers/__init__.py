"""``keras.optimizers``: Keras' names, arguments and defaults over the engine's optimizers.

Mapping (the update rules are the engine's, i.e. PyTorch's):

- ``SGD(learning_rate=0.01, momentum=0.0, nesterov=False)``: Keras' velocity form and
  PyTorch's buffer form give the same steps at a constant learning rate.
- ``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
  weight_decay=None)``: ``weight_decay`` is decoupled in Keras 3, so it maps to AdamW. Keras
  adds epsilon to ``sqrt(v) * sqrt(1 - beta_2**t)`` rather than to ``sqrt(v_hat)``: the two
  differ by at most a factor ``1/sqrt(1 - beta_2**t)`` on epsilon, invisible at 1e-7.
- ``AdamW(learning_rate=0.001, weight_decay=0.004, ...)``: decoupled decay, as torch.
- ``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)``:
  the engine adds epsilon outside the square root (PyTorch), Keras inside.

Refused with a ValueError: gradient clipping (clipnorm, clipvalue, global_clipnorm), EMA,
loss scaling, gradient accumulation, and weight_decay on SGD/RMSprop (Keras' is decoupled,
the engine's coupled).
"""
from __future__ import annotations

from fastmlp import optimizers as _fm
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


class SGD(_fm.SGD):
    _saved_class = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 **kwargs):
        _refuse_extras("SGD", **kwargs)
        refuse_unsupported("SGD", weight_decay=weight_decay)
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov)


class RMSprop(_fm.RMSprop):
    _saved_class = "RMSprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, **kwargs):
        _refuse_extras("RMSprop", **kwargs)
        refuse_unsupported("RMSprop", weight_decay=weight_decay)
        super().__init__(learning_rate=learning_rate, alpha=rho, eps=epsilon,
                         momentum=momentum, centered=centered)


class Adam(_fm.Adam):
    _saved_class = "Adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, **kwargs):
        _refuse_extras(type(self).__name__, **kwargs)
        super().__init__(learning_rate=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                         weight_decay=weight_decay or 0.0, amsgrad=amsgrad)
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
