"""The activation registry: names, their parameters and defaults, aliases.

The formulas live in the C++ kernels (one scalar function per activation, reused by every
fused and unfused loop); this module only names them. ``gelu`` is the exact erf form.
"""
from __future__ import annotations

from numbers import Real

from fastmlp._validation import canonical_name
from fastmlp.errors import InvalidParameterError

__all__ = ["ACTIVATIONS", "ALIASES", "resolve_activation"]

#: name -> its parameters with their defaults
ACTIVATIONS: dict[str, dict[str, float]] = {
    "linear": {},
    "sigmoid": {},
    "tanh": {},
    "relu": {},
    "leaky_relu": {"alpha": 0.01},
    "softplus": {},
    "softmax": {},
    "elu": {"alpha": 1.0},
    "gelu": {},
    "silu": {},
}

ALIASES = {"swish": "silu", "identity": "linear", "logistic": "sigmoid"}


def resolve_activation(name, params: dict | None = None, argname: str = "activation"):
    """Return ``(canonical_name, alpha)`` for an activation name and its keyword parameters.

    ``None`` means ``"linear"``. Unknown names or parameters raise ``InvalidParameterError``
    naming ``argname``.
    """
    params = dict(params or {})
    if name is None:
        name = "linear"
    key = canonical_name(
        name, ACTIVATIONS, ALIASES,
        f"{argname} must be one of {sorted(ACTIVATIONS) + sorted(ALIASES)}, got {name!r}",
        f"{argname} must be an activation name (str), got {type(name).__name__}")
    allowed = ACTIVATIONS[key]
    unknown = set(params) - set(allowed)
    if unknown:
        raise InvalidParameterError(
            f"{argname} {key!r} takes no parameter(s) {sorted(unknown)}"
            + (f"; it takes {sorted(allowed)}" if allowed else ""))
    alpha = params.get("alpha", allowed.get("alpha", 0.0))
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or alpha != alpha:
        raise InvalidParameterError(f"alpha of {key!r} must be a real number, got {alpha!r}")
    if key == "elu" and alpha <= 0:
        raise InvalidParameterError(f"alpha of 'elu' must be > 0, got {alpha!r}")
    if key == "leaky_relu" and alpha < 0:
        raise InvalidParameterError(f"alpha of 'leaky_relu' must be >= 0, got {alpha!r}")
    return key, float(alpha)
