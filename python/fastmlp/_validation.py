"""Parameter and input validation: every message names the argument.

Parameters are checked against declarative constraint tables (the shape of scikit-learn's
``_parameter_constraints``): ``{"units": [Interval(Integral, 1, None, closed="left")]}``.
Arrays are converted once, here, to C-contiguous arrays of the model's dtype.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from fastmlp import _core
from fastmlp.errors import InvalidParameterError

__all__ = [
    "Interval", "Options", "validate_params", "check_dtype", "check_dtype_policy",
    "DTYPE_POLICIES", "check_X", "check_finite",
    "as_float_array",
]


class Interval:
    """Numbers of ``kind`` (``Integral`` or ``Real``) between ``left`` and ``right``.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``; ``None`` bounds are
    infinite.
    """

    def __init__(self, kind, left, right, closed="both"):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_type(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is Integral:
            return isinstance(value, Integral)
        return isinstance(value, Real)

    def contains(self, value) -> bool:
        if not self.is_type(value):
            return False
        if isinstance(value, Real) and math.isnan(value):
            return False
        lo_ok = self.left is None or (value >= self.left if self.closed in ("both", "left")
                                      else value > self.left)
        hi_ok = self.right is None or (value <= self.right if self.closed in ("both", "right")
                                       else value < self.right)
        return lo_ok and hi_ok

    def __str__(self):
        kind = "an int" if self.kind is Integral else "a float"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        lo = "-inf" if self.left is None else repr(self.left)
        hi = "inf" if self.right is None else repr(self.right)
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


class Options:
    """One of a fixed set of values (strings, usually)."""

    def __init__(self, options):
        self.options = tuple(options)

    def contains(self, value) -> bool:
        try:
            return value in self.options
        except TypeError:
            return False

    def is_type(self, value) -> bool:
        return any(type(value) is type(o) for o in self.options)

    def __str__(self):
        return "one of " + ", ".join(repr(o) for o in self.options)


def _describe(c) -> str:
    if c is None:
        return "None"
    if c == "boolean":
        return "a bool"
    if c == "callable":
        return "a callable"
    if isinstance(c, type):
        return f"an instance of {c.__name__}"
    return str(c)


def _satisfies(c, value) -> bool:
    if c is None:
        return value is None
    if c == "boolean":
        return isinstance(value, (bool, np.bool_))
    if c == "callable":
        return callable(value)
    if isinstance(c, type):
        return isinstance(value, c)
    return c.contains(value)


def validate_params(owner: str, params: dict, constraints: dict) -> None:
    """Check each ``params[name]`` against ``constraints[name]`` (a list: any may match).

    Raises ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``) naming the parameter.
    """
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None:
            continue
        if any(_satisfies(c, value) for c in allowed):
            continue
        wanted = " or ".join(_describe(c) for c in allowed)
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {wanted}. Got {value!r} instead.")


def check_dtype(dtype) -> str:
    """Normalize a model dtype to ``"float32"`` or ``"float64"``."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in ("float32", "float64") or isinstance(dtype, bool):
        raise InvalidParameterError(
            f"The 'dtype' parameter must be 'float32' or 'float64'. Got {dtype!r} instead.")
    return name


# A model's dtype policy (Keras 3's names) -> the dtype its weights, optimizer state, losses
# and outputs are kept in. "mixed_bfloat16" runs the Dense GEMMs on bf16 operands.
DTYPE_POLICIES = {"float32": "float32", "float64": "float64", "mixed_bfloat16": "float32"}


def check_dtype_policy(dtype, name: str = "dtype") -> tuple[str, str]:
    """``(variable dtype, policy name)`` of a model ``dtype=``: "float32", "float64" (or a
    NumPy float dtype naming one) or "mixed_bfloat16"."""
    if isinstance(dtype, str) and dtype in DTYPE_POLICIES:
        return DTYPE_POLICIES[dtype], dtype
    try:
        dt = np.dtype(dtype).name if not isinstance(dtype, bool) else None
    except TypeError:
        dt = None
    if dt not in ("float32", "float64"):
        raise InvalidParameterError(
            f"The '{name}' parameter must be 'float32', 'float64' or 'mixed_bfloat16'. Got "
            f"{dtype!r} instead.")
    return dt, dt


def as_float_array(a, name: str, dtype, ndim=(1, 2)) -> np.ndarray:
    """Convert an array-like of numbers to a C-contiguous array of ``dtype`` (no copy if it is
    one already). Object, string and complex input is a TypeError, empty input a ValueError."""
    if a is None:
        raise TypeError(f"{name} must be an array-like of numbers, got None")
    if hasattr(a, "toarray") and hasattr(a, "nnz"):
        raise TypeError(f"{name} is a sparse matrix; fastmlp needs dense input: pass "
                        f"{name}.toarray()")
    try:
        raw = a if isinstance(a, np.ndarray) else np.asarray(a)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name} could not be converted to a numeric array: {e}") from None
    if raw.dtype.kind not in "biuf":
        what = {"O": "object", "U": "string", "S": "bytes", "c": "complex", "V": "structured",
                "M": "datetime", "m": "timedelta"}.get(raw.dtype.kind, str(raw.dtype))
        raise TypeError(f"{name} must contain real numbers, got an array of {what} dtype "
                        f"({raw.dtype}); convert it with np.asarray({name}, dtype=float)")
    if raw.ndim not in ndim:
        dims = " or ".join(f"{d}-D" for d in ndim)
        hint = "; reshape a single feature with X.reshape(-1, 1)" if raw.ndim == 1 else ""
        raise ValueError(f"{name} must be {dims}, got an array of shape {raw.shape}{hint}")
    if raw.size == 0:
        raise ValueError(f"{name} is empty (shape {raw.shape}); at least one sample is needed")
    # Aligned too: arrays rebuilt from pickle-5 buffers (Dask, multiprocessing) may start at
    # any byte, and the engine reads whole elements.
    return np.require(raw, dtype=dtype, requirements=("C_CONTIGUOUS", "ALIGNED"))


def check_finite(a: np.ndarray, name: str) -> None:
    """NaN or infinity is a ValueError naming the argument and the first bad position."""
    if a.dtype.kind != "f" or _all_finite(a):
        return
    where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
    raise ValueError(f"{name} contains NaN or infinity (first at index {where}); "
                     "impute or drop those values first")


def _all_finite(a: np.ndarray) -> bool:
    if a.dtype in (np.float32, np.float64) and a.flags.c_contiguous:
        # One vectorized pass in C++: np.isfinite(a) would allocate a bool array a quarter
        # the size of a float32 X (47 MB for a 60,000 x 784 fit).
        return bool(_core.kernels.all_finite(a))
    return bool(np.isfinite(a).all())


def check_X(X, dtype, n_features: int | None = None, name: str = "X") -> np.ndarray:
    """2-D, finite, C-contiguous ``dtype``; ``n_features`` columns if given."""
    X = as_float_array(X, name, dtype, ndim=(2,))
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features (columns), but the model expects "
                         f"{n_features}")
    check_finite(X, name)
    return X


def check_consistent_length(X: np.ndarray, y: np.ndarray, xname="X", yname="y") -> None:
    if len(X) != len(y):
        raise ValueError(f"{xname} and {yname} have different numbers of samples: "
                         f"{len(X)} and {len(y)}")


def check_int(value, name: str, owner: str, low: int = 1) -> int:
    validate_params(owner, {name: value}, {name: [Interval(Integral, low, None, closed="left")]})
    return int(value)


def canonical_name(name, known, aliases: dict, unknown: str, not_str: str | None = None) -> str:
    """``name`` lower-cased and through ``aliases``, when that is one of ``known``; otherwise
    an InvalidParameterError saying ``unknown`` (``not_str`` when name is not a string)."""
    if not isinstance(name, str):
        raise InvalidParameterError(not_str or unknown)
    key = aliases.get(name.lower(), name.lower())
    if key not in known:
        raise InvalidParameterError(unknown)
    return key


def batch_rows(batch_size, n: int, owner: str) -> int:
    """Rows per pass through the network for ``owner(..., batch_size=...)``: all ``n`` for
    None, else ``batch_size`` (an int >= 1, a ValueError naming it otherwise) capped at n."""
    if batch_size is None:
        return max(1, n)
    validate_params(owner, {"batch_size": batch_size},
                    {"batch_size": [Interval(Integral, 1, None)]})
    return int(max(1, min(batch_size, n)))
