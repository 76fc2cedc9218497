"""Small data sets that ship with fastmlp, and synthetic ones for benchmarks and examples.

``load_digits`` reads the UCI handwritten digits bundled in ``fastmlp/data`` (the same file
scikit-learn ships; see ``data/LICENSE_digits.txt``), so demos and tests work offline and
without scikit-learn.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["load_digits", "make_classification", "Table", "load_csv", "load_npz", "load_table"]

_DIGITS_FILE = "digits.csv.gz"


def _read_data_file(name: str) -> bytes:
    # importlib.resources works from a wheel, an editable install and the dev symlink tree alike.
    return resources.files("fastmlp").joinpath("_data", name).read_bytes()


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


@dataclass
class Table:
    """Features and (optionally) targets read from a file.

    ``X`` is float64 ``(n, d)``; ``y`` is ``None`` when the file had no target, a numeric array
    when the target column is numeric, else an array of strings (class names).
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list
    target_name: str | None


def _sniff_delimiter(header: str) -> str:
    # Comma unless the header clearly uses something else (European CSV, TSV).
    for delim in (",", ";", "\t", "|"):
        if delim in header:
            return delim
    return ","


def _column_as_float(values: list, name: str, first_line: int) -> np.ndarray:
    try:
        column = np.array(values, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):
            try:
                float(v)
            except ValueError:
                what = "is empty (missing value)" if v.strip() == "" else f"has {v!r}"
                raise ValueError(
                    f"column {name!r} {what} on line {first_line + i}: fastmlp needs numeric "
                    "feature columns without missing values (encode categories as numbers, "
                    "fill or drop missing values)"
                ) from None
        raise
    if not np.all(np.isfinite(column)):
        i = int(np.flatnonzero(~np.isfinite(column))[0])
        raise ValueError(
            f"column {name!r} has {values[i].strip()!r} on line {first_line + i}: "
            "NaN and infinity are not allowed"
        )
    return column


def load_csv(path, target: str | None = None, *, delimiter: str | None = None,
             features: list | None = None) -> Table:
    """Read a CSV file with a header row into a :class:`Table`.

    Parameters
    ----------
    path : str or path-like
    target : str, optional
        Name of the target column. Its values may be numbers or class names; every other column
        must be numeric.
    delimiter : str, optional
        Field separator; by default guessed from the header (``,``, ``;``, tab or ``|``).
    features : list of str, optional
        Feature columns to keep, in this order (e.g. the ones a model was trained on); by
        default every column except the target.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        With the column and line at fault: a missing target or feature column, a non-numeric
        or missing value, a row with the wrong number of fields, an empty file.
    """
    with open(os.fspath(path), newline="", encoding="utf-8-sig") as f:
        text = f.read()
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ValueError(f"{os.fspath(path)} is empty: expected a header row and data rows")
    delim = delimiter or _sniff_delimiter(lines[0])
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    header = [h.strip() for h in rows[0]]
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ValueError(f"duplicate column names in the header: {duplicates}")
    data, line_numbers = [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not v.strip() for v in row):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"line {lineno} has {len(row)} fields, the header has {len(header)}"
            )
        data.append(row)
        line_numbers.append(lineno)
    if not data:
        raise ValueError(f"{os.fspath(path)} has a header but no data rows")
    if target is not None and target not in header:
        raise ValueError(f"target column {target!r} not found; columns are: {', '.join(header)}")
    if features is None:
        features = [h for h in header if h != target]
    missing = [name for name in features if name not in header]
    if missing:
        raise ValueError(f"column(s) {missing} not found; columns are: {', '.join(header)}")
    if not features:
        raise ValueError("no feature columns left besides the target")
    columns = list(zip(*data))
    first = line_numbers[0]
    # Line numbers in messages assume no blank lines in between, which is the common case.
    X = np.empty((len(data), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        X[:, j] = _column_as_float(list(columns[header.index(name)]), name, first)
    y = None
    if target is not None:
        raw = [v.strip() for v in columns[header.index(target)]]
        try:
            y = _column_as_float(raw, target, first)
        except ValueError:
            if any(v == "" for v in raw):
                line = line_numbers[raw.index("")]
                raise ValueError(
                    f"target column {target!r} is empty (missing value) on line {line}"
                ) from None
            y = np.array(raw)  # class names
    return Table(X, y, list(features), target)


def load_npz(path, *, require_y: bool = True) -> Table:
    """Read ``X`` (and ``y``) from a NumPy ``.npz`` archive, without unpickling anything."""
    with np.load(os.fspath(path), allow_pickle=False) as archive:
        keys = list(archive.keys())
        if "X" not in keys:
            raise ValueError(f"{os.fspath(path)} has no array named 'X' (it has: {keys})")
        X = np.asarray(archive["X"])
        y = np.asarray(archive["y"]) if "y" in keys else None
    if require_y and y is None:
        raise ValueError(f"{os.fspath(path)} has no array named 'y' (it has: {keys})")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    names = [f"x{j}" for j in range(X.shape[1])]
    return Table(np.asarray(X, dtype=np.float64), y, names, "y" if y is not None else None)


def load_table(path, target: str | None = None, *, require_target: bool = True,
               features: list | None = None) -> Table:
    """Read a ``.csv`` (with ``target`` column) or ``.npz`` (with ``X``, ``y``) file."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"no such file: {p}")
    if os.path.isdir(p):
        raise ValueError(f"{p} is a directory, expected a .csv or .npz file")
    if p.lower().endswith(".npz"):
        return load_npz(p, require_y=require_target)
    if require_target and target is None:
        with open(p, encoding="utf-8-sig") as f:
            header = f.readline().strip()
        raise ValueError(
            f"{p}: which column is the target? Name it with --target COLUMN "
            f"(columns: {', '.join(h.strip() for h in header.split(_sniff_delimiter(header)))})"
        )
    return load_csv(p, target, features=features)
