"""The engine's poisson loss (log-rate output, exp link) vs torch's PoissonNLLLoss(log_input=
True): the kernel (sums, gradients, both dtypes, odd sizes), whole models (mean loss,
gradients, sample weights), predict's exp link, fitting, saving and ONNX. Re-run under every
lower ISA table by test_kernels_activation.test_every_isa_table."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

torch = pytest.importorskip("torch")
K = _core.kernels
DTYPES = [np.float32, np.float64]
SIZES = [1, 7, 16, 17, 100, 4097, 9000]


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def log_rates_and_counts(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    return z.astype(dtype), rng.poisson(np.exp(z)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_poisson_kernel_vs_torch(dtype, n):
    z, y = log_rates_and_counts(n, dtype, seed=n)
    loss, g = K.poisson_nll(z, y, 0.5)
    tz = torch.tensor(z.astype(np.float64), requires_grad=True)
    ref = torch.nn.PoissonNLLLoss(log_input=True, full=False, reduction="sum")(
        tz, torch.tensor(y.astype(np.float64)))
    ref.backward()
    np.testing.assert_allclose(loss, ref.item(), rtol=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, 0.5 * tz.grad.numpy(), **tol(dtype))
    assert g.dtype == dtype and K.poisson_nll(z, y, 1.0, False)[1] is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
def test_model_loss_gradients_and_link_vs_torch(dtype, weighted):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(23, 4))
    Y = rng.poisson(2.0, size=(23, 3)).astype(np.float64)
    w = rng.uniform(0, 2, 23) if weighted else None
    m = fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(3)], input_dim=4,
                      dtype=dtype, seed=1)
    m.compile(loss="poisson", optimizer="sgd")
    W1, b1, W2, b2 = (torch.tensor(a.astype(np.float64), requires_grad=True)
                      for a in m.get_weights())
    z = torch.tanh(torch.tensor(X) @ W1 + b1) @ W2 + b2
    el = torch.nn.PoissonNLLLoss(log_input=True, reduction="none")(z, torch.tensor(Y))
    loss = el.mean() if w is None else (el.mean(dim=1) * torch.tensor(w)).sum() / len(X)
    loss.backward()
    t = dict(rtol=1e-4, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.evaluate(X, Y, sample_weight=w)["loss"], loss.item(), **t)
    for g, a in zip(m.gradients(X, Y, sample_weight=w), (W1, b1, W2, b2)):
        np.testing.assert_allclose(g, a.grad.numpy(), **t)
    np.testing.assert_allclose(m.predict(X), torch.exp(z).detach().numpy(), **t)


def test_fit_learns_rates_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(2000, 3))
    rate = np.exp(X @ np.array([0.5, -1.0, 0.3]) + 0.7)
    y = rng.poisson(rate).astype(np.float64)
    m = fm.Sequential([fm.Dense(1)], input_dim=3, dtype="float64", seed=0)
    m.compile(loss="poisson", optimizer=fm.Adam(lr=0.05))
    m.fit(X, y, epochs=30, batch_size=100, verbose=0)
    np.testing.assert_allclose(m.predict(X).ravel(), rate, rtol=0.1)
    m.save(tmp_path / "p.fm")
    back = fm.load(tmp_path / "p.fm")
    assert back.loss == "poisson"
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    with pytest.raises(ValueError, match=">= 0"):
        m.fit(X, -y, verbose=0)


def test_onnx_export_applies_exp(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, 3)).astype(np.float32)
    m = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(2)], input_dim=3, seed=0)
    m.compile(loss="poisson", optimizer="adam")
    m.to_onnx(tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    np.testing.assert_allclose(sess.run(None, {"input": X})[0], m.predict(X), rtol=1e-5)
