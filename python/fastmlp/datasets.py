"""Small data sets that ship with fastmlp, and synthetic ones for benchmarks and examples.

``load_digits`` reads the UCI handwritten digits bundled in ``fastmlp/data`` (the same file
scikit-learn ships; see ``data/LICENSE_digits.txt``), so demos and tests work offline and
without scikit-learn.
"""
from __future__ import annotations

import gzip
import io
from importlib import resources

import numpy as np

__all__ = ["load_digits", "make_classification"]

_DIGITS_FILE = "digits.csv.gz"


def _read_data_file(name: str) -> bytes:
    # importlib.resources works from a wheel, an editable install and the dev symlink tree alike.
    return resources.files("fastmlp").joinpath("data", name).read_bytes()


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the bundled handwritten digits (8x8 images, 10 classes).

    Returns
    -------
    X : ndarray of shape (1797, 64), float32
        Pixel intensities 0..16, row-major 8x8 images.
    y : ndarray of shape (1797,), int64
        The digit, 0..9.

    Examples
    --------
    >>> from fastmlp.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
    """
    raw = gzip.decompress(_read_data_file(_DIGITS_FILE))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.float64)
    X = np.ascontiguousarray(table[:, :-1], dtype=np.float32)
    y = table[:, -1].astype(np.int64)
    return X, y


def make_classification(
    n_samples: int = 1000,
    n_features: int = 20,
    n_classes: int = 2,
    *,
    noise: float = 1.0,
    seed: int | None = 0,
    dtype: str = "float32",
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic, learnable classification data: Gaussian blobs around random class centers.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        Shape of the problem; ``X`` is ``(n_samples, n_features)``, labels are ``0..n_classes-1``.
    noise : float
        Standard deviation of each blob (centers are drawn from N(0, 1) per feature), so larger
        values make the classes overlap more.
    seed : int or None
        Seed of the NumPy generator; same seed, same data.
    dtype : str
        dtype of ``X`` (``y`` is always int64).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int64
    """
    for name, value in (("n_samples", n_samples), ("n_features", n_features),
                        ("n_classes", n_classes)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features))
    y = rng.integers(0, n_classes, size=n_samples, dtype=np.int64)
    X = centers[y] + noise * rng.standard_normal((n_samples, n_features))
    return np.ascontiguousarray(X, dtype=dtype), y
