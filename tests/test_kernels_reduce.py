"""Reductions: colsum (any row stride, accumulate), l1_l2_penalty (value and gradient, fixed
order independent of threads), all_finite."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

K = _core.kernels
DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_colsum(dtype):
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    for rows, cols in [(1, 1), (7, 3), (15, 16), (16, 17), (33, 1), (257, 33), (1000, 130)]:
        x = np.random.default_rng(rows).standard_normal((rows, cols)).astype(dtype)
        np.testing.assert_allclose(
            K.colsum(x), x.astype(np.float64).sum(0), rtol=rtol, atol=rtol * 10
        )
        out = np.ones(cols, dtype)
        K.colsum(x, out=out, accumulate=True)
        np.testing.assert_allclose(out, 1 + x.astype(np.float64).sum(0), rtol=rtol, atol=rtol * 10)
        if cols > 2:  # a column slice: row stride > cols
            sl = x[:, 1:-1]
            np.testing.assert_allclose(
                K.colsum(sl), sl.astype(np.float64).sum(0), rtol=rtol, atol=rtol * 10
            )


@pytest.mark.parametrize("dtype", DTYPES)
def test_l1_l2_penalty(dtype):
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    for n in (1, 7, 16, 17, 257, 10_000):
        w = np.random.default_rng(n).standard_normal(n).astype(dtype)
        w[0] = 0.0
        g = np.full(n, 0.5, dtype)
        val = K.l1_l2_penalty(w, 0.01, 0.001, g)
        wd = w.astype(np.float64)
        np.testing.assert_allclose(
            val, 0.01 * np.abs(wd).sum() + 0.0005 * (wd * wd).sum(), rtol=rtol
        )
        np.testing.assert_allclose(g, 0.5 + 0.01 * np.sign(wd) + 0.001 * wd, rtol=rtol, atol=1e-7)
        assert K.l1_l2_penalty(w, 0.0, 0.0) == 0.0


def test_penalty_does_not_depend_on_threads():
    w = np.random.default_rng(0).standard_normal(3_000_001).astype(np.float32)
    n0 = fm.get_num_threads()
    try:
        fm.set_num_threads(1)
        a = K.l1_l2_penalty(w, 0.1, 0.2)
        fm.set_num_threads(2)
        b = K.l1_l2_penalty(w, 0.1, 0.2)
    finally:
        fm.set_num_threads(n0)
    assert a == b


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_finite(dtype):
    for n in (0, 1, 7, 16, 17, 1000, 5000):
        x = np.ones(n, dtype)
        assert K.all_finite(x)
        for bad in (np.nan, np.inf, -np.inf):
            if n:
                y = x.copy()
                y[n - 1] = bad
                assert not K.all_finite(y)
                y = x.copy()
                y[n // 2] = bad
                assert not K.all_finite(y)
    assert K.all_finite(np.array([np.finfo(dtype).max, -np.finfo(dtype).max], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_all_finite_large_arrays_split_over_threads(threads, dtype):
    """From 2^21 values the check runs in chunks on the pool: a bad value anywhere (first,
    at a chunk edge, last) is found at any thread count."""
    n0 = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        n = (1 << 21) + (1 << 20) + 5
        x = np.ones(n, dtype)
        assert K.all_finite(x)
        for i in (0, 1 << 20, (1 << 21) - 1, n - 1):
            y = x.copy()
            y[i] = np.inf if i % 2 else np.nan
            assert not K.all_finite(y)
    finally:
        fm.set_num_threads(n0)


def test_argument_errors():
    with pytest.raises(ValueError):
        K.l1_l2_penalty(np.ones(3, np.float32), -1.0, 0.0)
    with pytest.raises(ValueError):
        K.l1_l2_penalty(np.ones(3, np.float32), 0.1, 0.0, np.ones(3, np.float64))
    with pytest.raises(ValueError):
        K.colsum(np.ones(3, np.float32))
    with pytest.raises(ValueError):
        K.colsum(np.ones((3, 2), np.float32), out=np.ones(3, np.float32))



