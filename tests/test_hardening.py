"""Hardening: nothing a caller passes may crash the process or give a silently wrong answer.

Covers what docs/api.md "Input handling" promises beyond per-module validation tests: inputs of
every memory layout give the same result as a C-contiguous float copy, absurd sizes are a
MemoryError/ValueError (never a crash), concurrent predicts on one model are safe, repeated
fit/predict does not leak, and a diverging fit leaves finite weights.
"""
from __future__ import annotations

import gc
import resource

import numpy as np
import pytest

import fastmlp as fm

from conftest import make_data, make_mlp, run_in_threads


def _data(n=120, d=7, k=3, seed=0):
    return make_data("labels", n, d, k, seed)


def _model(d=7, k=3, dtype="float32", seed=0, **compile_kw):
    return make_mlp(k=k, d=d, dtype=dtype, seed=seed, **compile_kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layouts_give_identical_results(dtype, tmp_path):
    X, y = _data()
    ref = _model(dtype=dtype)
    ref.fit(np.ascontiguousarray(X, dtype=dtype), y, epochs=2, batch_size=16, verbose=0)
    expect = ref.predict(X.astype(dtype))

    ro = X.copy()
    ro.setflags(write=False)
    mm_path = tmp_path / "x.dat"
    mm = np.memmap(mm_path, dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.memmap(mm_path, dtype=np.float64, mode="r", shape=X.shape)
    wide = np.zeros((X.shape[0], X.shape[1] * 2))
    wide[:, ::2] = X
    variants = {
        "fortran": np.asfortranarray(X),
        "readonly": ro,
        "memmap": mm,
        "strided": wide[:, ::2],
        "list": X.tolist(),
    }
    for name, Xv in variants.items():
        m = _model(dtype=dtype)
        m.fit(Xv, list(y) if name == "list" else y, epochs=2, batch_size=16, verbose=0)
        np.testing.assert_array_equal(m.predict(Xv), expect, err_msg=name)


def test_integer_input_same_as_float():
    rng = np.random.default_rng(1)
    Xi = rng.integers(-3, 4, size=(50, 7))
    y = rng.integers(0, 3, size=50)
    a, b = _model(), _model()
    a.fit(Xi, y, epochs=1, batch_size=10, verbose=0)
    b.fit(Xi.astype(np.float32), y, epochs=1, batch_size=10, verbose=0)
    np.testing.assert_array_equal(a.predict(Xi), b.predict(Xi.astype(np.float32)))


def test_absurd_layer_size_is_memory_or_value_error():
    m = fm.Sequential([fm.Dense(2**40)], input_dim=2**20)
    with pytest.raises((MemoryError, ValueError)):
        m.compile(loss="mse", optimizer=fm.SGD(lr=0.1))
        m.predict(np.zeros((1, 2**20), dtype=np.float32))


def test_gemm_shape_mismatch_is_value_error():
    a = np.ones((3, 4), dtype=np.float32)
    b = np.ones((5, 6), dtype=np.float32)
    with pytest.raises(ValueError):
        fm.ops.gemm(a, b)
    with pytest.raises(ValueError):
        fm.ops.gemm(a, np.ones((4, 2), dtype=np.float32), bias=np.ones(3, dtype=np.float32))
    with pytest.raises((TypeError, ValueError)):
        fm.ops.gemm(a, np.ones((4, 2), dtype=np.float64))


def test_concurrent_predict_on_one_model():
    X, y = _data(n=400)
    m = _model()
    m.fit(X, y, epochs=2, batch_size=32, verbose=0)
    expect = m.predict(X)
    def worker(i):
        for _ in range(30):
            rows = slice(i * 7, i * 7 + 1 + i * 40)
            np.testing.assert_array_equal(m.predict(X[rows]), expect[rows])

    errors = run_in_threads(worker, 6)
    assert not errors, errors[0]


def _rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc")
def test_repeated_fit_predict_memory_is_stable():
    X, y = _data(n=500, d=20)

    def once():
        m = fm.Sequential([fm.Dense(64, activation="relu"), fm.Dropout(0.1), fm.BatchNorm(),
                           fm.Dense(3)], input_dim=20, seed=0)
        m.compile(loss="cross_entropy", optimizer=fm.Adam())
        m.fit(X, y, epochs=1, batch_size=50, verbose=0)
        m.predict(X)
        m.evaluate(X, y)

    for _ in range(5):
        once()
    gc.collect()
    before = _rss_mb()
    for _ in range(40):
        once()
    gc.collect()
    assert _rss_mb() - before < 20.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_divergence_raises_and_keeps_finite_weights(dtype):
    X, y = _data(n=200)
    X = X * 1e3
    m = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dense(1)], input_dim=7, dtype=dtype,
                      seed=0)
    m.compile(loss="mse", optimizer=fm.SGD(lr=10.0))
    with pytest.raises(fm.DivergenceError) as info:
        m.fit(X, (y * 1e3).astype(float), epochs=50, batch_size=20, verbose=0)
    assert isinstance(info.value, FloatingPointError)
    assert "epoch" in str(info.value).lower()
    for w in m.get_weights():
        assert np.all(np.isfinite(w))


def _mem_available_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


@pytest.mark.skipif(_mem_available_gib() < 16, reason="needs ~9 GiB free for a 2^31+ element array")
def test_kernels_index_past_2_to_the_31():
    """64-bit index math: an element-wise kernel reaches elements beyond 2^31 correctly."""
    from fastmlp import _core

    n = 2**31 + 37
    x = np.empty(n, dtype=np.float32)
    tail = slice(2**31 - 3, n)
    x[:16] = -1.0
    x[tail] = np.linspace(-2.0, 2.0, n - (2**31 - 3), dtype=np.float32)
    expect = np.maximum(x[tail], 0)
    _core.kernels.act_fwd("relu", x, out=x)  # in place: one 8 GiB array, not two
    np.testing.assert_array_equal(x[tail], expect)
    assert np.all(x[:16] == 0)
    del x
