"""Loss kernels (_core.kernels: softmax_xent_labels/probs, sigmoid_bce, mse, sigmoid_link) vs
NumPy and torch, odd shapes, both dtypes, extreme logits, thread invariance, every ISA table."""
import os

import numpy as np
import pytest
from scipy import special

import fastmlp as fm
from fastmlp import _core

from conftest import central_differences

K = _core.kernels
DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 2), (7, 3), (15, 10), (16, 16), (17, 7), (33, 17), (257, 5), (1000, 10)]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def logits_of(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def np_log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_xent_labels(dtype):
    for n, k in SHAPES:
        x = logits_of((n, k), dtype, seed=n * k)
        y = np.random.default_rng(n).integers(0, k, n).astype(np.int32)
        loss, g, correct = K.softmax_xent_labels(x, y, 1.0 / n)
        ls = np_log_softmax(x)
        np.testing.assert_allclose(loss, -ls[np.arange(n), y].sum(), rtol=tol(dtype)["rtol"])
        ref = np.exp(ls)
        ref[np.arange(n), y] -= 1.0
        np.testing.assert_allclose(g, ref / n, **tol(dtype))
        assert correct == int((x.argmax(axis=1) == y).sum())
        loss2, g2, _ = K.softmax_xent_labels(x, y, 1.0 / n, want_grad=False)
        assert g2 is None and loss2 == loss


@pytest.mark.parametrize("dtype", DTYPES)
def test_xent_probs(dtype):
    rng = np.random.default_rng(1)
    for n, k in SHAPES:
        x = logits_of((n, k), dtype, seed=n + k)
        t = rng.random((n, k))
        t = (t / t.sum(axis=1, keepdims=True)).astype(dtype)
        loss, g, correct = K.softmax_xent_probs(x, t, 0.5)
        ls = np_log_softmax(x)
        np.testing.assert_allclose(loss, -(t * ls).sum(), rtol=tol(dtype)["rtol"])
        ref = np.exp(ls) * t.sum(axis=1, keepdims=True) - t
        np.testing.assert_allclose(g, 0.5 * ref, **tol(dtype))
        assert correct == int((x.argmax(axis=1) == t.argmax(axis=1)).sum())


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_bce(dtype):
    rng = np.random.default_rng(2)
    for n, k in SHAPES:
        x = logits_of((n, k), dtype, seed=n * 31 + k)
        t = (rng.random((n, k)) < 0.4).astype(dtype)
        loss, g, correct = K.sigmoid_bce(x, t, 1.0 / (n * k))
        xd = x.astype(np.float64)
        ref = np.maximum(xd, 0) - xd * t + np.log1p(np.exp(-np.abs(xd)))
        np.testing.assert_allclose(loss, ref.sum(), rtol=tol(dtype)["rtol"])
        np.testing.assert_allclose(g, (special.expit(xd) - t) / (n * k), **tol(dtype))
        assert correct == int(((xd >= 0) == (t >= 0.5)).sum())
    # 1-D targets (n,) work as (n, 1)
    x = logits_of(17, dtype)
    t = (np.arange(17) % 2).astype(dtype)
    loss1, g1, c1 = K.sigmoid_bce(x, t)
    loss2, g2, c2 = K.sigmoid_bce(x.reshape(17, 1), t.reshape(17, 1))
    assert loss1 == loss2 and c1 == c2
    np.testing.assert_array_equal(g1, g2.ravel())


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse(dtype):
    for n, k in SHAPES:
        p = logits_of((n, k), dtype, seed=3)
        t = logits_of((n, k), dtype, seed=4)
        loss, g = K.mse(p, t, 1.0 / (n * k))
        d = p.astype(np.float64) - t
        np.testing.assert_allclose(loss, (d * d).sum(), rtol=tol(dtype)["rtol"])
        np.testing.assert_allclose(g, 2 * d / (n * k), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_link(dtype):
    x = logits_of(1000, dtype, scale=20)
    x[:4] = [-1e4, 1e4, -50, 50]
    rtol = 2e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(K.sigmoid_link(x), special.expit(x.astype(np.float64)), rtol=rtol,
                               atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_are_stable(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [50, -50, 49]], dtype=dtype)
    y = np.array([1, 0, 2], dtype=np.int32)
    loss, g, _ = K.softmax_xent_labels(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(g))
    np.testing.assert_allclose(loss, -np_log_softmax(x)[np.arange(3), y].sum(), rtol=1e-6)
    t = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=dtype)
    loss, g, _ = K.sigmoid_bce(x, t)
    assert np.isfinite(loss) and np.all(np.isfinite(g))
    xd = x.astype(np.float64)
    np.testing.assert_allclose(
        loss, (np.maximum(xd, 0) - xd * t + np.log1p(np.exp(-np.abs(xd)))).sum(), rtol=1e-6
    )
    loss, g, _ = K.softmax_xent_probs(x, t)
    assert np.isfinite(loss) and np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", DTYPES)
def test_against_torch(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    n, k = 33, 7
    x = logits_of((n, k), dtype, seed=7)
    y = np.random.default_rng(8).integers(0, k, n).astype(np.int32)
    tx = torch.tensor(x, requires_grad=True)
    tl = F.cross_entropy(tx, torch.tensor(y, dtype=torch.long))
    tl.backward()
    loss, g, _ = K.softmax_xent_labels(x, y, 1.0 / n)
    np.testing.assert_allclose(loss / n, tl.item(), rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, tx.grad.numpy(), **tol(dtype))

    p = np.random.default_rng(9).random((n, k))
    p = (p / p.sum(1, keepdims=True)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    tl = F.cross_entropy(tx, torch.tensor(p))
    tl.backward()
    loss, g, _ = K.softmax_xent_probs(x, p, 1.0 / n)
    np.testing.assert_allclose(loss / n, tl.item(), rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, tx.grad.numpy(), **tol(dtype))

    t = (np.random.default_rng(10).random((n, k)) < 0.5).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    tl = F.binary_cross_entropy_with_logits(tx, torch.tensor(t))
    tl.backward()
    loss, g, _ = K.sigmoid_bce(x, t, 1.0 / (n * k))
    np.testing.assert_allclose(loss / (n * k), tl.item(), rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, tx.grad.numpy(), **tol(dtype))

    tx = torch.tensor(x, requires_grad=True)
    tl = F.mse_loss(tx, torch.tensor(t))
    tl.backward()
    loss, g = K.mse(x, t, 1.0 / (n * k))
    np.testing.assert_allclose(loss / (n * k), tl.item(), rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, tx.grad.numpy(), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient_may_overwrite_logits(dtype):
    x = logits_of((33, 17), dtype, seed=21)
    y = np.random.default_rng(22).integers(0, 17, 33).astype(np.int32)
    p = np.random.default_rng(23).random((33, 17))
    p = (p / p.sum(1, keepdims=True)).astype(dtype)
    t = (p > 0.06).astype(dtype)
    for fn, tgt in ((K.softmax_xent_labels, y), (K.softmax_xent_probs, p), (K.sigmoid_bce, t)):
        ref = fn(x, tgt, 0.1)
        xx = x.copy()
        got = fn(xx, tgt, 0.1, in_place=True)
        assert got[1] is xx
        assert got[0] == ref[0] and got[2] == ref[2]
        np.testing.assert_array_equal(xx, ref[1])


def test_gradients_central_differences_float64():
    rng = np.random.default_rng(40)
    x = rng.standard_normal((7, 5)) * 2
    y = rng.integers(0, 5, 7).astype(np.int32)
    p = rng.random((7, 5))
    p /= p.sum(1, keepdims=True)
    t = (rng.random((7, 5)) < 0.5).astype(np.float64)
    cases = [
        (lambda z: K.softmax_xent_labels(z, y)[0], lambda z: K.softmax_xent_labels(z, y)[1]),
        (lambda z: K.softmax_xent_probs(z, p)[0], lambda z: K.softmax_xent_probs(z, p)[1]),
        (lambda z: K.sigmoid_bce(z, t)[0], lambda z: K.sigmoid_bce(z, t)[1]),
        (lambda z: K.mse(z, t)[0], lambda z: K.mse(z, t)[1]),
    ]
    for f, grad in cases:
        numeric = central_differences(lambda f=f: f(x), x)
        np.testing.assert_allclose(grad(x), numeric, rtol=1e-6, atol=1e-8)


def test_argument_errors():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="outside"):
        K.softmax_xent_labels(x, np.array([0, 1, 3, 0], np.int32))
    with pytest.raises(ValueError, match="outside"):
        K.softmax_xent_labels(x, np.array([0, -1, 2, 0], np.int32))
    with pytest.raises(ValueError):
        K.softmax_xent_labels(x, np.array([0, 1, 2, 0], np.int64))
    with pytest.raises(ValueError):
        K.softmax_xent_labels(x, np.array([0, 1, 2], np.int32))
    with pytest.raises(ValueError):
        K.softmax_xent_probs(x, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError):
        K.sigmoid_bce(x, np.zeros((4, 3), np.float64))
    with pytest.raises(ValueError):
        K.mse(x, np.zeros(12, np.float32))
    loss, g, c = K.softmax_xent_labels(np.zeros((0, 3), np.float32), np.zeros(0, np.int32))
    assert loss == 0.0 and c == 0 and g.shape == (0, 3)


def test_loss_does_not_depend_on_threads():
    n, k = 20_000, 10
    x = logits_of((n, k), np.float32, seed=11)
    y = np.random.default_rng(12).integers(0, k, n).astype(np.int32)
    t = (np.random.default_rng(13).random((n, k)) < 0.5).astype(np.float32)
    n0 = fm.get_num_threads()
    res = []
    try:
        for nt in (1, 2):
            fm.set_num_threads(nt)
            res.append(
                (K.softmax_xent_labels(x, y, 1e-3), K.sigmoid_bce(x, t, 1e-3), K.mse(x, t, 1e-3))
            )
    finally:
        fm.set_num_threads(n0)
    for a, b in zip(res[0], res[1]):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [320, 1024, 1031])
def test_softmax_batch_split_over_threads_is_exact(dtype, n):
    # A row is priced above its k classes, so a training batch of 10 classes is split over the
    # threads (it used to be one chunk): same bits at 1-3 threads, and the NumPy values.
    k = 10
    x = logits_of((n, k), dtype, seed=n)
    y = np.random.default_rng(n + 1).integers(0, k, n).astype(np.int32)
    t = np.random.default_rng(n + 2).random((n, k))
    t = (t / t.sum(axis=1, keepdims=True)).astype(dtype)
    n0 = fm.get_num_threads()
    res = []
    try:
        for nt in (1, 2, 3):
            fm.set_num_threads(nt)
            res.append((K.softmax_xent_labels(x, y, 1.0 / n), K.softmax_xent_probs(x, t, 1.0 / n)))
    finally:
        fm.set_num_threads(n0)
    for other in res[1:]:
        for a, b in zip(res[0], other):
            assert a[0] == b[0] and a[2] == b[2]
            np.testing.assert_array_equal(a[1], b[1])
    ls = np_log_softmax(x)
    (loss, g, correct), (loss_p, g_p, _) = res[0]
    np.testing.assert_allclose(loss, -ls[np.arange(n), y].sum(), rtol=tol(dtype)["rtol"])
    ref = np.exp(ls)
    ref[np.arange(n), y] -= 1.0
    np.testing.assert_allclose(g, ref / n, **tol(dtype))
    assert correct == int((x.argmax(axis=1) == y).sum())
    np.testing.assert_allclose(loss_p, -(t * ls).sum(), rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g_p, (np.exp(ls) - t) / n, **tol(dtype))


@pytest.mark.skipif(not os.environ.get("FASTMLP_ISA"), reason="only in the forced-ISA re-runs")
def test_forced_isa_is_active():
    assert fm.build_info()["isa"] == os.environ["FASTMLP_ISA"]
