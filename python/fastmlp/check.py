"""``gradcheck``: back-propagated gradients against central differences, on a float64 twin.

(``diagnose`` lives in ``fastmlp.diagnosis``; it is re-exported here for the old import path.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from fastmlp.diagnosis import diagnose
from fastmlp.errors import InvalidParameterError
from fastmlp.layers import LAYERS, Dense, Dropout, GaussianNoise, Standardize
from fastmlp.losses import Huber
from fastmlp.models import Sequential
from fastmlp.models.sequential import saved_class
from fastmlp.optimizers import SGD

__all__ = ["gradcheck", "GradcheckReport", "diagnose"]


@dataclass
class GradcheckReport:
    """``max_rel_error``: the largest of ``per_array``; ``per_array``: for each trainable array
    (``get_weights()`` order, trainable only) ``max(0, |g - n| - noise) / (|g| + |n|)`` in the
    2-norm, with g the back-propagated and n the central-difference gradient, and noise the
    finite differences' rounding level; ``names`` label them."""

    max_rel_error: float
    per_array: list = field(default_factory=list)
    names: list = field(default_factory=list)
    eps: float = 0.0

    @property
    def passed(self) -> bool:
        return self.max_rel_error < 1e-7

    def __str__(self):
        lines = [f"gradcheck: max relative error {self.max_rel_error:.3e} (eps={self.eps:g})"]
        lines += [f"  {n}: {e:.3e}" for n, e in zip(self.names, self.per_array)]
        return "\n".join(lines)


def _rel_error(a: np.ndarray, b: np.ndarray, atol: float = 0.0) -> float:
    num = max(0.0, float(np.linalg.norm(a - b)) - atol)
    den = float(np.linalg.norm(a) + np.linalg.norm(b))
    return 0.0 if num == 0.0 else num / den


# ---- the float64 twin gradcheck differentiates ----------------------------------------------

def _float64_twin(model, deterministic=False):
    """A float64 copy (same weights); without Dropout/GaussianNoise when deterministic."""
    model._ensure_built()
    layers = [LAYERS[saved_class(layer)].from_config(layer.get_config())
              for layer in model.layers
              if not (deterministic and isinstance(layer, (Dropout, GaussianNoise)))]
    twin = Sequential(layers, input_dim=model.input_dim, dtype="float64", seed=model.seed)
    cfg = model.compile_config
    if cfg is not None:
        loss = Huber(cfg.huber_delta) if cfg.loss == "huber" else cfg.loss
        twin.compile(loss, SGD(), cfg.l1, cfg.l2)   # the optimizer plays no part in gradients
    twin.build()
    if twin.layers and isinstance(twin.layers[0], Standardize):
        twin.layers[0]._fitted = True
    twin.set_weights(model.get_weights())
    return twin


def _training_loss(model, X, y) -> float:
    """Mean loss + penalty in training mode, computed in NumPy from the raw outputs."""
    z = np.asarray(model._net.predict(X, True, False), dtype=np.float64)
    loss = model.loss
    if loss == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        if y.ndim == 1:
            value = -logp[np.arange(len(y)), y].mean()
        else:
            value = -(y * logp).sum(axis=1).mean()
    elif loss == "binary_cross_entropy":
        value = (np.logaddexp(0.0, z) - y * z).mean()
    elif loss == "mae":
        value = np.abs(z - y).mean()
    elif loss == "huber":
        d, delta = np.abs(z - y), model.compile_config.huber_delta
        value = np.where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta)).mean()
    else:
        value = ((z - y) ** 2).mean()
    return float(value + model._penalty())


def _l1_weight_flags(model) -> list:
    """For each array (params() order): is it a Dense W with a non-zero L1 penalty?"""
    cfg = model.compile_config
    out = []
    for layer in model.layers:
        n = len(layer.param_specs(1))
        if isinstance(layer, Dense):
            l1 = cfg.penalties(layer)[0] if cfg is not None else (layer.l1 or 0.0)
            out += [l1 > 0] + [False] * (n - 1)
        else:
            out += [False] * n
    return out


def gradcheck(model, X, y, eps=None) -> GradcheckReport:
    """Compare back-propagated gradients with central differences.

    The check runs on a float64 copy of ``model`` without its random layers (Dropout,
    GaussianNoise: dropout off), in training mode (BatchNorm uses batch statistics), on the
    compiled loss including the L1/L2 penalty. The model itself is not changed.
    Every parameter is perturbed, so keep the model and X small.

    Parameters
    ----------
    eps : float, optional
        Finite-difference step of the five-point central difference; default 1e-4.
    """
    if eps is None:
        eps = 1e-4
    if isinstance(eps, bool) or not isinstance(eps, Real) or not (0 < eps < 1):
        raise InvalidParameterError(f"eps must be a float in (0, 1), got {eps!r}")
    twin = _float64_twin(model, deterministic=True)
    X64, y64 = twin._check_xy(X, y)
    analytic = twin._gradients(X64, y64, dropout=False)
    params = twin._net.params()
    trainable = [p for p, t in zip(params, twin._net.trainable()) if t]
    names = [n for n, t in zip(twin._param_names(), twin._net.trainable()) if t]

    def loss():
        return _training_loss(twin, X64, y64)

    # Dense weights under an L1 penalty have a kink at 0: their step shrinks so that the
    # stencil never crosses it.
    kinked = _l1_weight_flags(twin)
    kinked = [k for k, t in zip(kinked, twin._net.trainable()) if t]
    # The differences carry rounding noise of about 100 * machine-eps * |loss| / step per
    # element (the loss itself is a long sum). A mismatch below that cannot be measured, so it
    # is subtracted: a gradient that is zero (a bias before BatchNorm) or tiny compared with the
    # loss then does not show a large relative error made of noise alone.
    rounding = 100 * np.finfo(np.float64).eps * max(1.0, abs(loss()))
    errors = []
    for P, G, kink in zip(trainable, analytic, kinked):
        flat = P.reshape(-1)
        numeric = np.empty(flat.size)
        noise2 = 0.0
        for i in range(flat.size):
            old = flat[i]
            h = min(eps, max(abs(old) / 3.0, 1e-7)) if kink else eps
            f = []
            for step in (2, 1, -1, -2):
                flat[i] = old + step * h
                f.append(loss())
            flat[i] = old
            # Five-point central difference: truncation error O(h^4), so a step large enough
            # to keep rounding noise small stays accurate.
            numeric[i] = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h)
            noise2 += (rounding / h) ** 2
        g = np.asarray(G, dtype=np.float64).reshape(-1)
        errors.append(_rel_error(g, numeric, atol=math.sqrt(noise2)))
    return GradcheckReport(max(errors, default=0.0), errors, names, float(eps))
