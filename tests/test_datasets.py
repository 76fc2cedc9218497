"""Bundled and synthetic data sets."""
import numpy as np
import pytest

from fastmlp.datasets import load_digits, make_classification


def test_load_digits_shapes_and_dtypes():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    assert set(np.unique(y)) == set(range(10))
    # The UCI test set: each digit 174..183 times; first rows are 0, 1, 2, ...
    counts = np.bincount(y)
    assert counts.min() >= 170 and counts.max() <= 185
    assert list(y[:10]) == list(range(10))


def test_load_digits_returns_fresh_arrays():
    X1, y1 = load_digits()
    X1[:] = -1
    X2, _ = load_digits()
    assert X2.min() == 0


def test_load_digits_matches_sklearn_when_installed():
    datasets = pytest.importorskip("sklearn.datasets")
    Xs, ys = datasets.load_digits(return_X_y=True)
    X, y = load_digits()
    np.testing.assert_array_equal(X, Xs.astype(np.float32))
    np.testing.assert_array_equal(y, ys)


def test_digits_license_is_bundled():
    from importlib import resources

    text = resources.files("fastmlp").joinpath("data", "LICENSE_digits.txt").read_text()
    assert "BSD 3-Clause" in text and "scikit-learn" in text


def test_make_classification_is_seeded_and_shaped():
    X1, y1 = make_classification(200, 7, 3, seed=4)
    X2, y2 = make_classification(200, 7, 3, seed=4)
    assert X1.shape == (200, 7) and X1.dtype == np.float32 and y1.dtype == np.int64
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) <= {0, 1, 2}
    X3, _ = make_classification(10, 2, 2, seed=4, dtype="float64")
    assert X3.dtype == np.float64


@pytest.mark.parametrize("kwargs", [dict(n_samples=0), dict(n_features=-1), dict(n_classes=1),
                                    dict(n_samples=2.5)])
def test_make_classification_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError):
        make_classification(**kwargs)
