"""Direct access to the core's compute kernels (GEMM with fused epilogue)."""
from __future__ import annotations

import numbers

import numpy as np

from fastmlp import _core

__all__ = ["gemm", "GEMM_ACTIVATIONS", "GEMM_PRECISIONS"]

# Activation name -> (core Act code, default alpha). The codes are fm::Act's values.
GEMM_ACTIVATIONS = {
    "linear": (0, 0.0),
    "sigmoid": (1, 0.0),
    "tanh": (2, 0.0),
    "relu": (3, 0.0),
    "leaky_relu": (4, 0.01),
    "softplus": (5, 0.0),
    "elu": (6, 1.0),
    "gelu": (7, 0.0),
    "silu": (8, 0.0),
    "swish": (8, 0.0),
}
# precision= name -> the binding's code: None computes in the operands' dtype; "bf16" rounds
# float32 operands to bfloat16 (nearest even) and accumulates in float32.
GEMM_PRECISIONS = {None: 0, "bf16": 1}
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _as_matrix(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub" or arr.dtype.kind == "f" and arr.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {arr.ndim} dimension(s) with shape {arr.shape}")
    return arr


def gemm(a, b, *, trans_a=False, trans_b=False, bias=None, activation=None, alpha=None,
         precision=None):
    """Return ``activation(op(a) @ op(b) + bias)`` computed by fastmlp's own GEMM.

    Parameters
    ----------
    a, b : array_like, 2-D, float32 or float64 (the same dtype)
        Operands; ``op(x)`` is ``x.T`` when the matching ``trans_*`` flag is set. Any strides
        are accepted (Fortran-ordered arrays are used without a copy). NaN and infinity
        propagate as in any matrix product.
    trans_a, trans_b : bool
        Use the transpose of ``a`` / ``b``.
    bias : array_like, shape (N,), optional
        Added to every row of the product before the activation.
    activation : str, optional
        One of ``linear, sigmoid, tanh, relu, leaky_relu, softplus, elu, gelu, silu, swish``
        (``None`` means linear). Softmax is row-wise and not available here.
    alpha : float, optional
        Negative slope of ``leaky_relu`` (default 0.01) or ``elu``'s alpha (default 1.0).
    precision : {None, "bf16"}
        ``None`` (default) multiplies in the operands' dtype. ``"bf16"`` (float32 operands only)
        rounds ``op(a)`` and ``op(b)`` to bfloat16 (round to nearest even) and accumulates in
        float32; bias and activation stay float32. ``fastmlp.build_info()["bf16"]`` says which
        path runs: ``"avx512_bf16"`` (``vdpbf16ps``) or ``"emulated"`` (the same numbers up to
        the float32 summation order).

    Returns
    -------
    numpy.ndarray of shape (M, N), the dtype of ``a``.
    """
    a = _as_matrix(a, "a")
    b = _as_matrix(b, "b")
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        a = a.astype(np.float64)
        b = b.astype(np.float64)
    elif a.dtype.kind != "f":
        a = a.astype(b.dtype)
    elif b.dtype.kind != "f":
        b = b.astype(a.dtype)
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    for flag, name in ((trans_a, "trans_a"), (trans_b, "trans_b")):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    m, ka = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if ka != kb:
        raise ValueError(
            f"a and b have mismatched shapes for op(a) @ op(b): op(a) is ({m}, {ka}), "
            f"op(b) is ({kb}, {n})"
        )
    if bias is not None:
        bias_arr = np.asarray(bias)
        if bias_arr.dtype.kind not in "fiub":
            raise TypeError(f"bias must be numeric, got dtype {bias_arr.dtype}")
        if bias_arr.ndim != 1 or bias_arr.shape[0] != n:
            raise ValueError(f"bias must have shape ({n},), got {bias_arr.shape}")
        bias = np.ascontiguousarray(bias_arr, dtype=a.dtype)
    name = "linear" if activation is None else activation
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string or None, got {type(name).__name__}")
    key = name.lower()
    if key not in GEMM_ACTIVATIONS:
        valid = ", ".join(GEMM_ACTIVATIONS)
        extra = " (softmax is row-wise: apply it after gemm)" if key == "softmax" else ""
        raise ValueError(f"unknown activation {name!r}{extra}; valid names: {valid}")
    code, default_alpha = GEMM_ACTIVATIONS[key]
    if alpha is None:
        alpha = default_alpha
    elif isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__}")
    elif not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha}")
    if not isinstance(precision, (str, type(None))) or precision not in GEMM_PRECISIONS:
        raise ValueError(f"precision must be None or 'bf16', got {precision!r}")
    if precision == "bf16" and a.dtype != np.float32:
        raise TypeError(f"precision='bf16' needs float32 operands, got {a.dtype}")
    return _core.gemm(a, b, bool(trans_a), bool(trans_b), bias, code, float(alpha),
                      precision=GEMM_PRECISIONS[precision])
