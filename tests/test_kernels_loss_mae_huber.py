"""The engine's mae (L1) and huber(delta) losses vs torch.nn.functional (l1_loss, huber_loss,
smooth_l1_loss): the kernels (sums, gradients, both dtypes, odd sizes) and whole models
(mean loss, gradients through the network, sample weights), and their names and saving.
Re-run under every lower ISA table by test_kernels_activation.test_every_isa_table."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

torch = pytest.importorskip("torch")
F = torch.nn.functional
K = _core.kernels
DTYPES = [np.float32, np.float64]
SIZES = [1, 7, 16, 17, 100, 4097, 9000]


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def pair(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    p, t = rng.normal(size=n) * 2, rng.normal(size=n) * 2
    p[: min(n, 2)] = t[: min(n, 2)]          # exact zeros of d: sign 0, as torch
    return p.astype(dtype), t.astype(dtype)


def torch_sum_and_grad(fn, p, t, **kw):
    tp = torch.tensor(p.astype(np.float64), requires_grad=True)
    loss = fn(tp, torch.tensor(t.astype(np.float64)), reduction="sum", **kw)
    loss.backward()
    return loss.item(), tp.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_mae_kernel_vs_torch_l1_loss(dtype, n):
    p, t = pair(n, dtype, seed=n)
    loss, g = K.mae(p, t, 0.5)
    ref, gref = torch_sum_and_grad(F.l1_loss, p, t)
    np.testing.assert_allclose(loss, ref, rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, 0.5 * gref, **tol(dtype))
    assert g.dtype == dtype and K.mae(p, t, 1.0, False)[1] is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_kernel_vs_torch_huber_loss(dtype, n, delta):
    p, t = pair(n, dtype, seed=n + 1)
    loss, g = K.huber(p, t, 0.25, True, delta)
    ref, gref = torch_sum_and_grad(F.huber_loss, p, t, delta=delta)
    np.testing.assert_allclose(loss, ref, rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, 0.25 * gref, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_with_delta_1_is_smooth_l1_with_beta_1(dtype):
    p, t = pair(500, dtype, seed=3)
    loss, g = K.huber(p, t, 1.0, True, 1.0)
    ref, gref = torch_sum_and_grad(F.smooth_l1_loss, p, t, beta=1.0)
    np.testing.assert_allclose(loss, ref, rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, gref, **tol(dtype))


def test_kernel_argument_checks():
    p = np.zeros(3)
    with pytest.raises(ValueError, match="delta"):
        K.huber(p, p, 1.0, True, 0.0)
    with pytest.raises(ValueError, match="delta"):
        K.huber(p, p, 1.0, True, float("nan"))
    with pytest.raises(ValueError):
        K.mae(p, np.zeros(4))


def _torch_model_loss_and_grads(weights, X, Y, loss_fn, w=None, **kw):
    """Mean (or Keras-weighted: sum(w * row loss) / n) loss of a 2-layer tanh MLP and its
    gradients in float64 torch."""
    W1, b1, W2, b2 = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in weights)
    out = torch.tanh(torch.tensor(X) @ W1 + b1) @ W2 + b2
    el = loss_fn(out, torch.tensor(Y), reduction="none", **kw)
    if w is None:
        loss = el.mean()
    else:
        loss = (el.mean(dim=1) * torch.tensor(w)).sum() / len(X)
    loss.backward()
    return loss.item(), [a.grad.numpy() for a in (W1, b1, W2, b2)]


CASES = [("mae", F.l1_loss, {}), ("l1", F.l1_loss, {}),
         ("huber", F.huber_loss, {"delta": 1.0}), ("smooth_l1", F.smooth_l1_loss, {"beta": 1.0}),
         (fm.losses.Huber(0.4), F.huber_loss, {"delta": 0.4})]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss,fn,kw", CASES, ids=[str(c[0]) for c in CASES])
def test_model_loss_and_gradients_vs_torch(loss, fn, kw, weighted, dtype):
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(23, 4)), rng.normal(size=(23, 3)) * 2
    w = rng.uniform(0, 2, 23) if weighted else None
    m = fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(3)], input_dim=4,
                      dtype=dtype, seed=1)
    m.compile(loss=loss, optimizer=fm.SGD(learning_rate=0.1))
    ref, gref = _torch_model_loss_and_grads(m.get_weights(), X, Y, fn, w, **kw)
    t = dict(rtol=1e-4, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.evaluate(X, Y, sample_weight=w)["loss"], ref, **t)
    for g, r in zip(m.gradients(X, Y, sample_weight=w), gref):
        np.testing.assert_allclose(g, r, **t)


def test_mae_metric_names_and_saving(tmp_path):
    X, Y = np.random.default_rng(0).normal(size=(40, 3)), np.random.default_rng(1).normal(
        size=(40, 2))
    m = fm.Sequential([fm.Dense(2)], input_dim=3, seed=0)
    m.compile(loss=fm.losses.Huber(0.7), optimizer="sgd", metrics=["mae"])
    h = m.fit(X, Y, epochs=2, verbose=0)
    assert set(h.history) == {"loss", "mae"}
    pred = m.predict(X)
    np.testing.assert_allclose(m.evaluate(X, Y)["mae"], np.abs(pred - Y).mean(), rtol=1e-5)
    m.save(tmp_path / "h.fm")
    back = fm.load(tmp_path / "h.fm")
    assert back.loss == "huber" and back.compile_config.huber_delta == 0.7
    np.testing.assert_array_equal(back.predict(X), pred)
    with pytest.raises(ValueError, match="mse"):
        m.compile(loss="mae", metrics=["mse"])
    with pytest.raises(ValueError, match="delta"):
        fm.losses.Huber(-1)
    assert fm.Sequential([fm.Dense(1)], input_dim=2).compile(loss="mean_absolute_error") is None


def test_sums_do_not_depend_on_the_thread_count():
    p, t = pair(100_003, np.float32, seed=9)
    n0 = fm.get_num_threads()
    res = []
    try:
        for nt in (1, 2, 3):
            fm.set_num_threads(nt)
            res.append((K.mae(p, t, 1e-3), K.huber(p, t, 1e-3, True, 0.5)))
    finally:
        fm.set_num_threads(n0)
    for other in res[1:]:
        for (la, ga), (lb, gb) in zip(res[0], other):
            assert la == lb
            np.testing.assert_array_equal(ga, gb)
