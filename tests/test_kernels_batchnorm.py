"""BatchNorm kernels vs NumPy and torch.nn.BatchNorm1d: training output, running statistics,
inference output, backward (dx, dgamma, dbeta); thread invariance; argument checks."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

from conftest import central_differences

K = _core.kernels
DTYPES = [np.float32, np.float64]
SHAPES = [(2, 1), (7, 3), (15, 16), (16, 17), (33, 7), (257, 65), (1000, 10)]


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def data(n, c, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 3 + rng.standard_normal(c) * 5).astype(dtype)
    gamma = (1 + 0.5 * rng.standard_normal(c)).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    return x, gamma, beta


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_infer_backward_vs_numpy(dtype):
    eps, mom = 1e-5, 0.1
    for n, c in SHAPES:
        x, gamma, beta = data(n, c, dtype, seed=n * c)
        rm = np.zeros(c, dtype)
        rv = np.ones(c, dtype)
        y, sm, si = K.batchnorm_fwd_train(x, gamma, beta, rm, rv, eps, mom)
        xd = x.astype(np.float64)
        mean, var = xd.mean(0), xd.var(0)
        inv = 1 / np.sqrt(var + eps)
        xhat = (xd - mean) * inv
        np.testing.assert_allclose(y, xhat * gamma + beta, **tol(dtype))
        np.testing.assert_allclose(sm, mean, **tol(dtype))
        np.testing.assert_allclose(si, inv, **tol(dtype))
        np.testing.assert_allclose(rm, mom * mean, **tol(dtype))
        np.testing.assert_allclose(rv, (1 - mom) + mom * xd.var(0, ddof=1), **tol(dtype))
        ye = K.batchnorm_fwd_infer(x, gamma, beta, rm, rv, eps)
        np.testing.assert_allclose(
            ye, (xd - rm) / np.sqrt(rv.astype(np.float64) + eps) * gamma + beta, **tol(dtype)
        )
        dy = np.random.default_rng(1).standard_normal((n, c)).astype(dtype)
        dx, dg, db = K.batchnorm_bwd(x, dy, gamma, sm, si)
        dyd = dy.astype(np.float64)
        np.testing.assert_allclose(db, dyd.sum(0), **tol(dtype))
        np.testing.assert_allclose(dg, (dyd * xhat).sum(0), **tol(dtype))
        ref = gamma * inv / n * (n * dyd - dyd.sum(0) - xhat * (dyd * xhat).sum(0))
        np.testing.assert_allclose(dx, ref, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_against_torch_batchnorm1d(dtype):
    torch = pytest.importorskip("torch")
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    for n, c in [(7, 3), (33, 17), (257, 65)]:
        x, gamma, beta = data(n, c, dtype, seed=c)
        bn = torch.nn.BatchNorm1d(c, eps=1e-5, momentum=0.1).to(tdt)
        with torch.no_grad():
            bn.weight.copy_(torch.tensor(gamma))
            bn.bias.copy_(torch.tensor(beta))
        rm = np.zeros(c, dtype)
        rv = np.ones(c, dtype)
        for step in range(3):  # a few steps: running statistics accumulate
            xs = (x + step).astype(dtype)
            tx = torch.tensor(xs, requires_grad=True)
            bn.train()
            ty = bn(tx)
            dy = np.random.default_rng(step).standard_normal((n, c)).astype(dtype)
            ty.backward(torch.tensor(dy))
            y, sm, si = K.batchnorm_fwd_train(xs, gamma, beta, rm, rv, 1e-5, 0.1)
            np.testing.assert_allclose(y, ty.detach().numpy(), **tol(dtype))
            np.testing.assert_allclose(rm, bn.running_mean.numpy(), **tol(dtype))
            np.testing.assert_allclose(rv, bn.running_var.numpy(), **tol(dtype))
            dx, dg, db = K.batchnorm_bwd(xs, dy, gamma, sm, si)
            np.testing.assert_allclose(dx, tx.grad.numpy(), **tol(dtype))
            np.testing.assert_allclose(dg, bn.weight.grad.numpy(), **tol(dtype))
            np.testing.assert_allclose(db, bn.bias.grad.numpy(), **tol(dtype))
            bn.weight.grad = None
            bn.bias.grad = None
        bn.eval()
        with torch.no_grad():
            te = bn(torch.tensor(x)).numpy()
        np.testing.assert_allclose(
            K.batchnorm_fwd_infer(x, gamma, beta, rm, rv, 1e-5), te, **tol(dtype)
        )


def test_backward_central_differences_float64():
    x, gamma, beta = data(9, 4, np.float64, seed=3)
    w = np.random.default_rng(4).standard_normal(x.shape)

    def loss(xx, gg, bb):
        y, _, _ = K.batchnorm_fwd_train(xx, gg, bb, np.zeros(4), np.ones(4), 1e-5, 0.1)
        return (y * w).sum()

    _, sm, si = K.batchnorm_fwd_train(x, gamma, beta, np.zeros(4), np.ones(4), 1e-5, 0.1)
    dx, dg, db = K.batchnorm_bwd(x, w, gamma, sm, si)
    def loss_now():
        return loss(x, gamma, beta)

    np.testing.assert_allclose(dx, central_differences(loss_now, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dg, central_differences(loss_now, gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, central_differences(loss_now, beta), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["relu", "gelu", "elu", "sigmoid"])
def test_fused_activation_is_bit_identical(dtype, act):
    alpha = 1.0 if act == "elu" else 0.0
    for n, c in [(7, 3), (33, 65), (257, 17)]:
        x, gamma, beta = data(n, c, dtype, seed=n + c)
        rm1, rv1 = np.zeros(c, dtype), np.ones(c, dtype)
        rm2, rv2 = rm1.copy(), rv1.copy()
        y, sm, si = K.batchnorm_fwd_train(x, gamma, beta, rm1, rv1)
        fy, fz, fsm, fsi = K.batchnorm_fwd_train(
            x, gamma, beta, rm2, rv2, act=act, alpha=alpha, with_z=True
        )
        np.testing.assert_array_equal(fz, y)
        np.testing.assert_array_equal(fy, K.act_fwd(act, y, alpha))
        for a, b in ((sm, fsm), (si, fsi), (rm1, rm2), (rv1, rv2)):
            np.testing.assert_array_equal(a, b)
        fy2, _, _ = K.batchnorm_fwd_train(
            x, gamma, beta, rm2, rv2, act=act, alpha=alpha, update_running=False
        )
        np.testing.assert_array_equal(fy2, fy)
        ye = K.batchnorm_fwd_infer(x, gamma, beta, rm1, rv1)
        fye, fze = K.batchnorm_fwd_infer(
            x, gamma, beta, rm1, rv1, act=act, alpha=alpha, with_z=True
        )
        np.testing.assert_array_equal(fze, ye)
        np.testing.assert_array_equal(fye, K.act_fwd(act, ye, alpha))
    with pytest.raises(ValueError):
        K.batchnorm_fwd_train(x, gamma, beta, rm1, rv1, act="softmax")


def test_update_running_false_changes_no_state():
    x, gamma, beta = data(33, 5, np.float64)
    rm, rv = np.full(5, 0.3), np.full(5, 2.0)
    y1, _, _ = K.batchnorm_fwd_train(x, gamma, beta, rm, rv, 1e-5, 0.1, update_running=False)
    np.testing.assert_array_equal(rm, 0.3)
    np.testing.assert_array_equal(rv, 2.0)
    y2, _, _ = K.batchnorm_fwd_train(x, gamma, beta, rm, rv, 1e-5, 0.1)
    np.testing.assert_array_equal(y1, y2)


def test_constant_column_and_single_row():
    x = np.ones((9, 2), np.float32)
    x[:, 1] = np.arange(9)
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    y, sm, si = K.batchnorm_fwd_train(x, None, None, rm, rv, 1e-5, 0.1)
    assert np.all(np.isfinite(y)) and np.all(y[:, 0] == 0)
    rm1, rv1 = np.zeros(2), np.ones(2)
    y, _, _ = K.batchnorm_fwd_train(np.ones((1, 2)), None, None, rm1, rv1, 1e-5, 0.1)
    assert np.all(np.isfinite(y)) and np.all(rv1 == 1.0)  # n == 1: running_var left unchanged


def test_results_do_not_depend_on_threads():
    x, gamma, beta = data(3000, 300, np.float32)
    dy = np.random.default_rng(5).standard_normal(x.shape).astype(np.float32)
    n0 = fm.get_num_threads()
    res = []
    try:
        for nt in (1, 2):
            fm.set_num_threads(nt)
            rm, rv = np.zeros(300, np.float32), np.ones(300, np.float32)
            y, sm, si = K.batchnorm_fwd_train(x, gamma, beta, rm, rv, 1e-5, 0.1)
            res.append((y, sm, si, rm, rv) + tuple(K.batchnorm_bwd(x, dy, gamma, sm, si)))
    finally:
        fm.set_num_threads(n0)
    for a, b in zip(res[0], res[1]):
        np.testing.assert_array_equal(a, b)


def test_argument_errors():
    x, gamma, beta = data(5, 3, np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    with pytest.raises(ValueError):
        K.batchnorm_fwd_train(x, gamma, beta, np.zeros(4, np.float32), rv)
    with pytest.raises(ValueError):
        K.batchnorm_fwd_train(x, gamma.astype(np.float64), beta, rm, rv)
    with pytest.raises(ValueError):
        K.batchnorm_fwd_train(x, gamma, beta, rm, rv, eps=0.0)
    with pytest.raises(ValueError):
        K.batchnorm_fwd_train(x, gamma, beta, rm, rv, momentum=1.5)
    with pytest.raises(ValueError):
        K.batchnorm_fwd_train(np.zeros((0, 3), np.float32), gamma, beta, rm, rv)
    with pytest.raises(ValueError):
        K.batchnorm_bwd(x, np.zeros((5, 2), np.float32), gamma, rm, rv)



