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

    text = resources.files("fastmlp").joinpath("_data", "LICENSE_digits.txt").read_text()
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


# --------------------------------------------------------------------------- CSV / NPZ files

from fastmlp.datasets import load_csv, load_npz, load_table  # noqa: E402


def _write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_csv_numeric_and_named_target(tmp_path):
    path = _write(tmp_path, "a,b,label\n1,2.5,0\n3,4,1\n\n5,6e-1,1\n")
    t = load_csv(path, "label")
    np.testing.assert_array_equal(t.X, [[1, 2.5], [3, 4], [5, 0.6]])
    np.testing.assert_array_equal(t.y, [0, 1, 1])
    assert t.feature_names == ["a", "b"] and t.target_name == "label"


def test_load_csv_class_names_and_other_delimiters(tmp_path):
    t = load_csv(_write(tmp_path, "x;y;kind\n1;2;cat\n3;4;dog\n"), "kind")
    assert list(t.y) == ["cat", "dog"] and t.X.shape == (2, 2)
    t = load_csv(_write(tmp_path, "x\ty\n1\t2\n", "t.tsv"), "y")
    assert t.X.shape == (1, 1)


def test_load_csv_selects_features_by_name(tmp_path):
    t = load_csv(_write(tmp_path, "b,a,t\n1,2,0\n"), "t", features=["a", "b"])
    np.testing.assert_array_equal(t.X, [[2, 1]])


@pytest.mark.parametrize("text, target, match", [
    ("a,b\n1,2\n", "label", r"target column 'label' not found; columns are: a, b"),
    ("a,b,t\n1,x,0\n", "t", r"column 'b' has 'x' on line 2"),
    ("a,b,t\n1,2,0\n1,,1\n", "t", r"column 'b' is empty \(missing value\) on line 3"),
    ("a,b,t\n1,nan,0\n", "t", r"NaN and infinity"),
    ("a,b,t\n1,2\n", "t", r"line 2 has 2 fields, the header has 3"),
    ("a,a,t\n1,2,0\n", "t", r"duplicate column"),
    ("", "t", r"empty"),
    ("a,t\n", "t", r"no data rows"),
    ("a,t\n1,\n", "t", r"target column 't' is empty"),
])
def test_load_csv_errors_name_the_problem(tmp_path, text, target, match):
    with pytest.raises(ValueError, match=match):
        load_csv(_write(tmp_path, text), target)


def test_load_npz_and_table(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(6, dtype=np.float32).reshape(3, 2), y=np.array([0, 1, 0]))
    t = load_table(path)
    assert t.X.shape == (3, 2) and list(t.y) == [0, 1, 0]
    np.savez(tmp_path / "nox.npz", features=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"no array named 'X'"):
        load_npz(tmp_path / "nox.npz")
    np.savez(tmp_path / "noy.npz", X=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"no array named 'y'"):
        load_npz(tmp_path / "noy.npz")
    assert load_npz(tmp_path / "noy.npz", require_y=False).y is None
    np.savez(tmp_path / "obj.npz", X=np.array([["a"]]), y=np.array([0]))
    with pytest.raises(ValueError, match="numeric"):
        load_npz(tmp_path / "obj.npz")


def test_load_table_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_table(tmp_path / "missing.csv", "t")
    with pytest.raises(ValueError, match=r"--target COLUMN \(columns: a, t\)"):
        load_table(_write(tmp_path, "a,t\n1,0\n"))
