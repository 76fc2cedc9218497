"""train_dev_test_split and Standardizer."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp.data import auto_split_sizes


def test_fixed_fractions_partition_the_data():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100)
    Xtr, Xd, Xte, ytr, yd, yte = fm.train_dev_test_split(X, y, sizes=(0.7, 0.2, 0.1), seed=0)
    assert (len(Xtr), len(Xd), len(Xte)) == (70, 20, 10)
    assert sorted(np.concatenate([ytr, yd, yte]).tolist()) == list(range(100))
    for Xp, yp in ((Xtr, ytr), (Xd, yd), (Xte, yte)):
        np.testing.assert_array_equal(Xp[:, 0], 2 * yp)   # rows stay paired


def test_counts_and_seed_reproducibility():
    X = np.arange(50)[:, None]
    a = fm.train_dev_test_split(X, None, sizes=(30, 10, 10), seed=3)
    b = fm.train_dev_test_split(X, None, sizes=(30, 10, 10), seed=3)
    assert [len(p) for p in a] == [30, 10, 10]
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)


def test_auto_sizes_shrink_with_data():
    assert auto_split_sizes(1000) == (0.6, 0.2, 0.2)
    assert auto_split_sizes(2_000_000) == (0.98, 0.01, 0.01)
    mid = auto_split_sizes(100_000)
    assert 0.01 < mid[1] < 0.2 and mid[1] == mid[2] and sum(mid) == pytest.approx(1)
    fr = [auto_split_sizes(n)[1] for n in (10_000, 30_000, 100_000, 300_000, 1_000_000)]
    assert fr == sorted(fr, reverse=True)
    X = np.zeros((1000, 1))
    parts = fm.train_dev_test_split(X, np.zeros(1000), seed=0)
    assert [len(p) for p in parts[:3]] == [600, 200, 200]


def test_stratify_keeps_class_proportions():
    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100)[:, None]
    _, _, _, ytr, yd, yte = fm.train_dev_test_split(X, y, sizes=(0.6, 0.2, 0.2),
                                                    stratify=True, seed=1)
    assert (ytr == 1).sum() == 12 and (yd == 1).sum() == 4 and (yte == 1).sum() == 4


@pytest.mark.parametrize("kw, match", [
    (dict(sizes=(0.5, 0.2)), "sizes"),
    (dict(sizes=(0.5, 0.2, 0.2)), "add up"),
    (dict(sizes="big"), "sizes"),
    (dict(stratify="yes"), "stratify"),
    (dict(seed=1.5), "seed"),
])
def test_split_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        fm.train_dev_test_split(np.zeros((10, 2)), np.zeros(10), **kw)
    with pytest.raises(ValueError, match="samples"):
        fm.train_dev_test_split(np.zeros((10, 2)), np.zeros(9))


def test_standardizer_matches_sklearn():
    sk = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(0)
    X = rng.normal(3, 2, size=(50, 4))
    X[:, 2] = 7.0                                   # constant feature
    s = fm.Standardizer().fit(X)
    ref = sk.StandardScaler().fit(X)
    np.testing.assert_allclose(s.mean_, ref.mean_)
    np.testing.assert_allclose(s.scale_, ref.scale_)
    Z = s.transform(X)
    np.testing.assert_allclose(Z, ref.transform(X), atol=1e-12)
    assert np.isfinite(Z).all() and np.all(Z[:, 2] == 0)
    np.testing.assert_allclose(s.inverse_transform(Z), X)
    np.testing.assert_allclose(fm.Standardizer().fit_transform(X), Z)


def test_standardizer_uses_fit_data_only_and_checks_input():
    s = fm.Standardizer().fit([[0.0], [2.0]])
    np.testing.assert_allclose(s.transform([[4.0]]), [[3.0]])
    assert s.transform(np.array([[1.0]], dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="features"):
        s.transform([[1.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        fm.Standardizer().fit([[np.nan]])
    with pytest.raises(TypeError, match="X"):
        fm.Standardizer().fit([["a"]])
    with pytest.raises(RuntimeError, match="fit"):
        fm.Standardizer().transform([[1.0]])
