"""Kernel benchmarks (pytest-benchmark group "kernels"): activations forward/backward, fused
softmax cross entropy, BatchNorm and the Adam update on MLP-sized arrays, reported as GB/s of
memory traffic (bytes each kernel must read + write once).

    PYTHONPATH=build/dev-NAME/pkg python -m pytest bench/bench_kernels.py --benchmark-enable -q -s
"""
import numpy as np
import pytest

from fastmlp import _core

K = _core.kernels
BATCH, UNITS = 256, 1024  # one hidden layer's activations
CLASSES = 10


def _report(benchmark, nbytes):
    benchmark.extra_info["bytes"] = nbytes
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        gbs = nbytes / stats.stats.min / 1e9
        benchmark.extra_info["GB/s"] = round(gbs, 2)
        print(f"\n{benchmark.name}: {gbs:.1f} GB/s (best of {stats.stats.rounds})")


def _x(dtype, shape=(BATCH, UNITS), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 2).astype(dtype)


DTYPES = [np.float32, np.float64]
ACTS = ["relu", "gelu", "sigmoid"]


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("act", ACTS)
def test_act_fwd(benchmark, act, dtype):
    x = _x(dtype)
    benchmark(K.act_fwd, act, x)
    _report(benchmark, 2 * x.nbytes)


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("act", ACTS)
def test_act_bwd(benchmark, act, dtype):
    z = _x(dtype)
    y = K.act_fwd(act, z)
    dy = _x(dtype, seed=1)
    benchmark(K.act_bwd, act, dy, z, y)
    _report(benchmark, 3 * z.nbytes)


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(BATCH, CLASSES), (4096, CLASSES), (BATCH, 1000)], ids=str)
def test_softmax_xent(benchmark, shape, dtype):
    x = _x(dtype, shape)
    y = np.random.default_rng(2).integers(0, shape[1], shape[0]).astype(np.int32)
    benchmark(K.softmax_xent_labels, x, y, 1.0 / shape[0])
    _report(benchmark, 2 * x.nbytes + y.nbytes)


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_batchnorm_fwd_train(benchmark, dtype):
    x = _x(dtype)
    c = x.shape[1]
    g, b = np.ones(c, dtype), np.zeros(c, dtype)
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    benchmark(K.batchnorm_fwd_train, x, g, b, rm, rv, 1e-5, 0.1)
    # x read, y written (the statistics passes re-read x from cache)
    _report(benchmark, 2 * x.nbytes)


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_batchnorm_bwd(benchmark, dtype):
    x = _x(dtype)
    dy = _x(dtype, seed=3)
    c = x.shape[1]
    g = np.ones(c, dtype)
    _, sm, si = K.batchnorm_fwd_train(x, g, None, np.zeros(c, dtype), np.ones(c, dtype))
    benchmark(K.batchnorm_bwd, x, dy, g, sm, si)
    _report(benchmark, 3 * x.nbytes)  # x, dy read; dx written


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
def test_adam_update(benchmark, dtype, amsgrad):
    n = UNITS * UNITS  # one 1024x1024 weight matrix
    p = _x(dtype, (n,))
    g = _x(dtype, (n,), seed=4)
    m, v, mx = np.zeros(n, dtype), np.zeros(n, dtype), np.zeros(n, dtype)
    benchmark(K.adam_update, p, g, m, v, mx, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, amsgrad)
    arrays = 5 if amsgrad else 4  # p, m, v (, max) read + written; g read
    _report(benchmark, (2 * arrays - 1) * p.nbytes)
