"""Data helpers: a train/dev/test split and a standardizer (scikit-learn's StandardScaler)."""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from fastmlp._validation import as_float_array, check_finite
from fastmlp.errors import InvalidParameterError

__all__ = ["train_dev_test_split", "auto_split_sizes", "Standardizer"]


def auto_split_sizes(n: int) -> tuple[float, float, float]:
    """Fractions for ``sizes="auto"``: 60/20/20 up to 10,000 rows, 98/1/1 from 1,000,000 rows
    up, and dev/test shrinking geometrically (log-linearly in n) in between."""
    if n <= 10_000:
        return (0.6, 0.2, 0.2)
    if n >= 1_000_000:
        return (0.98, 0.01, 0.01)
    t = (math.log10(n) - 4.0) / 2.0              # 0 at 1e4, 1 at 1e6
    f = 0.2 ** (1 - t) * 0.01 ** t
    return (1 - 2 * f, f, f)


def _counts(n: int, sizes) -> tuple[int, int, int]:
    if isinstance(sizes, str):
        if sizes != "auto":
            raise InvalidParameterError(f"sizes must be 'auto' or three numbers, got {sizes!r}")
        sizes = auto_split_sizes(n)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise InvalidParameterError(f"sizes must be 'auto' or three numbers, got {sizes!r}") \
            from None
    if len(sizes) != 3 or any(isinstance(s, bool) or not isinstance(s, Real) or not s >= 0
                              for s in sizes):
        raise InvalidParameterError(
            f"sizes must be three non-negative numbers (train, dev, test), got {sizes!r}")
    if all(isinstance(s, Integral) for s in sizes) and sum(sizes) > 1:
        if sum(sizes) != n:
            raise ValueError(f"sizes given as counts must add up to the {n} samples, got "
                             f"{sizes!r} (sum {sum(sizes)})")
        return tuple(int(s) for s in sizes)
    total = float(sum(sizes))
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"sizes given as fractions must add up to 1, got {sizes!r} "
                         f"(sum {total})")
    n_dev = int(round(sizes[1] * n))
    n_test = int(round(sizes[2] * n))
    n_dev, n_test = min(n_dev, n), min(n_test, n - min(n_dev, n))
    return n - n_dev - n_test, n_dev, n_test


def train_dev_test_split(X, y=None, sizes="auto", stratify=False, seed=None):
    """Shuffle and split into train, dev and test sets.

    Parameters
    ----------
    X : array-like (n, ...)
    y : array-like (n, ...), optional
    sizes : "auto" or (train, dev, test)
        Fractions adding up to 1, or integer counts adding up to n. ``"auto"``: 60/20/20 for up
        to 10,000 rows, shrinking dev and test as the data grows, 98/1/1 from 1e6 rows up.
    stratify : bool
        Keep the class proportions of ``y`` (labels) in every part.
    seed : int, optional

    Returns
    -------
    X_train, X_dev, X_test, y_train, y_dev, y_test  (only the three X parts when y is None)
    """
    Xa = X if hasattr(X, "shape") and hasattr(X, "__getitem__") else np.asarray(X)
    if getattr(Xa, "ndim", 1) == 0:
        raise ValueError("X must be an array-like of samples, got a scalar")
    n = len(Xa)
    if n == 0:
        raise ValueError("X is empty: nothing to split")
    ya = None
    if y is not None:
        ya = y if isinstance(y, np.ndarray) else np.asarray(y)
        if len(ya) != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {len(ya)}")
    if not isinstance(stratify, (bool, np.bool_)):
        raise InvalidParameterError(f"stratify must be a bool, got {stratify!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise InvalidParameterError(f"seed must be an int or None, got {seed!r}")
    counts = _counts(n, sizes)
    rng = np.random.default_rng(seed)
    if stratify:
        if ya is None or ya.ndim != 1:
            raise ValueError("stratify=True needs 1-D class labels y")
        parts = [[], [], []]
        classes, inverse = np.unique(ya, return_inverse=True)
        fr = np.array(counts, dtype=float) / n
        for c in range(len(classes)):
            idx = rng.permutation(np.flatnonzero(inverse == c))
            m = len(idx)
            n_dev, n_test = int(round(fr[1] * m)), int(round(fr[2] * m))
            n_dev = min(n_dev, m)
            n_test = min(n_test, m - n_dev)
            parts[1].append(idx[:n_dev])
            parts[2].append(idx[n_dev:n_dev + n_test])
            parts[0].append(idx[n_dev + n_test:])
        idx = [rng.permutation(np.concatenate(p)) for p in parts]
    else:
        perm = rng.permutation(n)
        a, b = counts[0], counts[0] + counts[1]
        idx = [perm[:a], perm[a:b], perm[b:]]
    # pandas objects index by position with .iloc; arrays (and memmaps) with [].
    xs = [Xa.iloc[i] if hasattr(Xa, "iloc") else Xa[i] for i in idx]
    if ya is None:
        return tuple(xs)
    ys = [y.iloc[i] if hasattr(y, "iloc") else ya[i] for i in idx]
    return (*xs, *ys)


class Standardizer:
    """Remove the mean and scale to unit variance, feature by feature (as scikit-learn's
    ``StandardScaler``): statistics come from ``fit`` only; the standard deviation is the
    population one; constant features get scale 1 (never NaN).

    Attributes after ``fit``: ``mean_``, ``var_``, ``scale_``, ``n_features_in_``,
    ``n_samples_seen_``.
    """

    def _check(self, X, name="X"):
        if hasattr(X, "dtype") and getattr(X.dtype, "kind", "f") == "f":
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        else:
            dtype = np.float64
        X = as_float_array(X, name, dtype, ndim=(2,))
        check_finite(X, name)
        return X

    def fit(self, X, y=None):
        X = self._check(X)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.var_ = X.var(axis=0, dtype=np.float64)
        scale = np.sqrt(self.var_)
        # Constant (or numerically constant) features: scale 1 so transform never divides by 0.
        tiny = 10 * np.finfo(X.dtype).eps * np.maximum(np.abs(self.mean_), 1.0)
        scale[scale <= tiny] = 1.0
        self.scale_ = scale
        self.n_features_in_ = X.shape[1]
        self.n_samples_seen_ = X.shape[0]
        return self

    def _fitted(self, X):
        if not hasattr(self, "mean_"):
            raise RuntimeError("this Standardizer is not fitted yet: call fit(X) first")
        X = self._check(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the Standardizer was fitted "
                             f"with {self.n_features_in_}")
        return X

    def transform(self, X):
        X = self._fitted(X)
        return ((X - self.mean_) / self.scale_).astype(X.dtype, copy=False)

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        X = self._fitted(X)
        return (X * self.scale_ + self.mean_).astype(X.dtype, copy=False)

    def __repr__(self):
        return "Standardizer()"
