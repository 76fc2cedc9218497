"""`_core.Network` driven directly (docs/core_network.md): forward vs NumPy, gradients vs
central differences and torch, optimizer steps vs torch.optim, determinism, validation."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from fastmlp import _core

from conftest import central_differences
from reference import act_fwd

ACTS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu", "silu",
        "softmax"]


# ---- NumPy reference ------------------------------------------------------------------------

def forward_np(layers, params, X, training=False):
    """Reference forward (no dropout/noise). params: list in params() order."""
    it = iter(params)
    h = X.astype(np.float64)
    for L in layers:
        k = L["kind"]
        if k == "dense":
            W = next(it).astype(np.float64)
            h = h @ W
            if L.get("use_bias", True):
                h = h + next(it)
            h = act_fwd(L.get("activation", "linear"), h, L.get("alpha"))
        elif k == "activation":
            h = act_fwd(L["name"], h, L.get("alpha"))
        elif k == "batchnorm":
            g, b, rm, rv = (next(it).astype(np.float64) for _ in range(4))
            if training:
                m, v = h.mean(0), h.var(0)
            else:
                m, v = rm, rv
            h = g * (h - m) / np.sqrt(v + L.get("eps", 1e-5)) + b
        elif k == "standardize":
            mean, sd = next(it), next(it)
            h = (h - mean) / sd
    return h


def loss_np(loss, logits, y):
    n, k = logits.shape
    if loss == "cross_entropy":
        lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
        if y.ndim == 1:
            return float(np.mean(lse - logits[np.arange(n), y]))
        return float(np.mean(lse - (y * logits).sum(1)))
    if loss == "binary_cross_entropy":
        softplus_abs = np.log1p(np.exp(-np.abs(logits)))
        return float(np.mean(np.maximum(logits, 0) - logits * y + softplus_abs))
    return float(np.mean((logits - y) ** 2))


def penalty_np(layers, params, l1, l2):
    it = iter(params)
    total = 0.0
    for L in layers:
        if L["kind"] == "dense":
            W = next(it)
            if L.get("use_bias", True):
                next(it)
            a = L.get("l1") if L.get("l1") is not None else l1
            b = L.get("l2") if L.get("l2") is not None else l2
            total += a * np.abs(W).sum() + 0.5 * b * (W ** 2).sum()
        elif L["kind"] == "batchnorm":
            for _ in range(4):
                next(it)
        elif L["kind"] == "standardize":
            next(it), next(it)
    return total


def make_net(layers, d, dtype="float64", seed=0, wscale=0.5):
    net = _core.Network(layers, d, dtype, seed)
    rng = np.random.default_rng(seed + 100)
    for p, tr, in zip(net.params(), net.trainable()):
        if tr:
            p[...] = rng.normal(size=p.shape) * wscale
    # BN running stats / standardize: non-trivial values
    i = 0
    for L in layers:
        if L["kind"] == "dense":
            i += 2 if L.get("use_bias", True) else 1
        elif L["kind"] == "batchnorm":
            ps = net.params()
            ps[i + 2][...] = rng.normal(size=ps[i + 2].shape) * 0.1
            ps[i + 3][...] = rng.uniform(0.5, 2.0, size=ps[i + 3].shape)
            i += 4
        elif L["kind"] == "standardize":
            ps = net.params()
            ps[i][...] = rng.normal(size=ps[i].shape)
            ps[i + 1][...] = rng.uniform(0.5, 2.0, size=ps[i + 1].shape)
            i += 2
    return net


def dense(units, act="linear", **kw):
    return dict(kind="dense", units=units, use_bias=kw.pop("use_bias", True), activation=act,
                alpha=kw.pop("alpha", None), l1=kw.pop("l1", None), l2=kw.pop("l2", None))


# ---- forward ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
def test_forward_dense_every_activation(act, dtype):
    layers = [dense(13, act), dense(4)] if act != "softmax" else \
        [dense(13), dict(kind="activation", name="softmax"), dense(4)]
    net = make_net(layers, 7, dtype)
    X = np.random.default_rng(1).normal(size=(37, 7)).astype(dtype)
    got = net.predict(X, link=False)
    ref = forward_np(layers, net.params(), X)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    assert got.dtype == np.dtype(dtype) and got.shape == (37, 4)


@pytest.mark.parametrize("act", ["relu", "gelu", "elu", "sigmoid"])
def test_forward_activation_layer_fused_and_dense_softmax(act):
    layers = [dense(9), dict(kind="activation", name=act, alpha=0.3), dense(5, "softmax")]
    net = make_net(layers, 6)
    X = np.random.default_rng(2).normal(size=(300, 6))  # > one inference block
    np.testing.assert_allclose(net.predict(X, link=False), forward_np(layers, net.params(), X),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batchnorm_standardize_train_and_infer(dtype):
    layers = [dict(kind="standardize"), dense(11, use_bias=False),
              dict(kind="batchnorm", momentum=0.2, eps=1e-3), dict(kind="activation", name="tanh"),
              dense(3)]
    net = make_net(layers, 5, dtype)
    X = np.random.default_rng(3).normal(size=(50, 5)).astype(dtype)
    tol = 2e-5 if dtype == "float32" else 1e-11
    before = [p.copy() for p in net.params()]
    np.testing.assert_allclose(net.predict(X, link=False), forward_np(layers, net.params(), X),
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(net.predict(X, training=True, link=False),
                               forward_np(layers, net.params(), X, training=True),
                               rtol=tol, atol=tol)
    for a, b in zip(before, net.params()):  # predict(training=True) changes no state
        np.testing.assert_array_equal(a, b)


def test_batchnorm_running_stats_update_in_fit():
    layers = [dense(6), dict(kind="batchnorm", momentum=0.1, eps=1e-5)]
    net = make_net(layers, 4)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(32, 4))
    y = rng.normal(size=(32, 6))
    net.compile("mse", {"name": "sgd", "lr": 1e-9}, 0.0, 0.0)
    p = net.params()
    h = X @ p[0] + p[1]
    rm0, rv0 = p[4].copy(), p[5].copy()
    net.train_batch(X, y)
    np.testing.assert_allclose(p[4], 0.9 * rm0 + 0.1 * h.mean(0), rtol=1e-6)
    np.testing.assert_allclose(p[5], 0.9 * rv0 + 0.1 * h.var(0, ddof=1), rtol=1e-6)


def test_link_and_uncompiled_predict():
    layers = [dense(8, "relu"), dense(3)]
    net = make_net(layers, 4)
    X = np.random.default_rng(5).normal(size=(10, 4))
    raw = net.predict(X)
    np.testing.assert_allclose(raw, forward_np(layers, net.params(), X), rtol=1e-12)
    net.compile("cross_entropy", {"name": "adam"}, 0.0, 0.0)
    np.testing.assert_allclose(net.predict(X), act_fwd("softmax", raw), rtol=1e-12)
    np.testing.assert_allclose(net.predict(X, link=False), raw, rtol=1e-12)
    net.compile("binary_cross_entropy", {"name": "adam"}, 0.0, 0.0)
    np.testing.assert_allclose(net.predict(X), act_fwd("sigmoid", raw), rtol=1e-12)


def test_dropout_off_at_predict_and_training_predict_stochastic():
    layers = [dense(32, "relu"), dict(kind="dropout", rate=0.5), dense(3)]
    net = make_net(layers, 5)
    X = np.random.default_rng(6).normal(size=(20, 5))
    ref = forward_np(layers, net.params(), X)
    np.testing.assert_allclose(net.predict(X, link=False), ref, rtol=1e-12)
    t = net.predict(X, training=True, link=False)
    assert not np.allclose(t, ref)
    # every call draws fresh masks (Monte Carlo dropout) ...
    t2 = net.predict(X, training=True, link=False)
    assert not np.array_equal(t, t2)
    np.testing.assert_allclose(net.predict(X, link=False), ref, rtol=1e-12)
    # ... and the sequence of calls is reproducible from the seed
    twin = make_net(layers, 5)
    np.testing.assert_array_equal(twin.predict(X, training=True, link=False), t)
    np.testing.assert_array_equal(twin.predict(X, training=True, link=False), t2)
    # averaging many draws approaches the inference output (inverted dropout keeps the mean
    # of each unit's input; the 3 outputs are linear in it)
    mean = np.mean([net.predict(X, training=True, link=False) for _ in range(400)], axis=0)
    assert np.abs(mean - ref).mean() < 0.1 * np.abs(ref).mean()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("threads", [1, 2])
def test_small_row_predict_path(rows, dtype, threads):
    layers = [dense(300, "gelu"), dense(130, "relu", use_bias=False), dense(3)]
    net = make_net(layers, 260, dtype, wscale=0.1)
    X = np.random.default_rng(17).normal(size=(rows, 260)).astype(dtype)
    old = _core.get_num_threads()
    _core.set_num_threads(threads)
    try:
        got = net.predict(X, link=False)
    finally:
        _core.set_num_threads(old)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, forward_np(layers, net.params(), X), rtol=tol, atol=tol)


def test_params_views_keep_network_alive():
    net = make_net([dense(3)], 2)
    ps = net.params()
    ps[0][...] = 1.0
    del net
    import gc
    gc.collect()
    assert ps[0].sum() == 6.0 and ps[0].base is not None


def test_trainable_and_param_shapes():
    layers = [dict(kind="standardize"), dense(4, use_bias=False), dict(kind="batchnorm"), dense(2)]
    net = _core.Network(layers, 3, "float32", 0)
    shapes = [(3,), (3,), (3, 4), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    assert [p.shape for p in net.params()] == shapes
    assert net.trainable() == [False, False, True, True, True, False, False, True, True]
    assert net.output_dim == 2 and net.dtype == "float32"
    ps = net.params()
    np.testing.assert_array_equal(ps[1], 1)  # std
    np.testing.assert_array_equal(ps[3], 1)  # gamma
    np.testing.assert_array_equal(ps[6], 1)  # running_var


# ---- gradients vs central differences ---------------------------------------------------------

def numeric_grads(net, layers, X, y, loss, l1, l2, eps=1e-6):
    out = []
    params = net.params()
    # Batch statistics need training mode; without BatchNorm, inference mode = training mode
    # with the stochastic layers off (what gradients(dropout=False) differentiates).
    training = any(L["kind"] == "batchnorm" for L in layers)

    def value():
        logits = net.predict(X, training=training, link=False)
        return loss_np(loss, logits, y) + penalty_np(layers, params, l1, l2)

    for p, tr in zip(params, net.trainable()):
        if tr:
            out.append(central_differences(value, p, eps))
    return out


def rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


CASES = {
    "ce_labels": ("cross_entropy", [dense(6, "tanh"), dense(3)], 0.0, 0.0),
    "ce_probs_l1l2": ("cross_entropy", [dense(6, "gelu", l2=0.3), dense(3)], 0.05, 0.1),
    "bce_bn": ("binary_cross_entropy", [dense(6), dict(kind="batchnorm", eps=1e-3),
                                        dict(kind="activation", name="silu"), dense(2)],
               0.0, 0.02),
    "mse_std_softplus": ("mse", [dict(kind="standardize"), dense(5, "softplus"),
                                 dense(4, "elu", alpha=0.7), dense(2, use_bias=False)],
                         0.01, 0.0),
    "mse_mid_standardize_noise": ("mse", [dense(5, "tanh"), dict(kind="standardize"),
                                          dict(kind="noise", stddev=0.5),
                                          dict(kind="dropout", rate=0.3), dense(2)], 0.0, 0.0),
    "ce_softmax_mid_sigmoid": ("cross_entropy", [dense(5, "sigmoid"),
                                                 dict(kind="activation", name="softmax"),
                                                 dense(4, "leaky_relu", alpha=0.2), dense(3)],
                               0.0, 0.0),
}


def targets(loss, n, k, rng, probs=False):
    if loss == "cross_entropy":
        if probs:
            t = rng.uniform(size=(n, k))
            return t / t.sum(1, keepdims=True)
        return rng.integers(0, k, n).astype(np.int32)
    if loss == "binary_cross_entropy":
        return (rng.uniform(size=(n, k)) > 0.5).astype(np.float64)
    return rng.normal(size=(n, k))


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_central_differences(case):
    loss, layers, l1, l2 = CASES[case]
    net = make_net(layers, 4)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 4))
    y = targets(loss, 9, net.output_dim, rng, probs="probs" in case)
    net.compile(loss, {"name": "sgd", "lr": 0.1}, l1, l2)
    before = [p.copy() for p in net.params()]
    got = net.gradients(X, y, False)
    for a, b in zip(before, net.params()):
        np.testing.assert_array_equal(a, b)  # no state change (BN running stats included)
    num = numeric_grads(net, layers, X, y, loss, l1, l2)
    assert len(got) == len(num)
    for g, n in zip(got, num):
        assert g.shape == n.shape
        if np.linalg.norm(n) < 1e-8:  # e.g. a bias before BatchNorm: exactly zero gradient
            assert np.linalg.norm(g - n) < 1e-8
        else:
            assert rel_err(g, n) < 1e-7, (case, rel_err(g, n))


def test_evaluate_matches_numpy():
    loss, layers, l1, l2 = CASES["ce_probs_l1l2"]
    net = make_net(layers, 4)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(600, 4))
    y = rng.integers(0, 3, 600).astype(np.int32)
    net.compile(loss, {"name": "adam"}, l1, l2)
    t = net.evaluate(X, y, 64)
    val, correct, weight = t.loss, t.correct, t.weight
    assert weight == len(X) and t.count == len(X)
    logits = forward_np(layers, net.params(), X)
    ref = loss_np(loss, logits, y) + penalty_np(layers, net.params(), l1, l2)
    assert abs(val - ref) < 1e-10 * abs(ref)
    assert correct == int((logits.argmax(1) == y).sum())


# ---- torch -------------------------------------------------------------------------------------

def torch_mlp(torch, net, sizes, act="relu"):
    ps = net.params()
    mods = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(ps[2 * i].T.copy()))
            lin.bias.copy_(torch.from_numpy(ps[2 * i + 1].copy()))
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU() if act == "relu" else torch.nn.Tanh())
    return torch.nn.Sequential(*mods)


def test_gradients_vs_torch():
    torch = pytest.importorskip("torch")
    layers = [dense(16, "relu"), dense(8, "relu"), dense(5)]
    net = make_net(layers, 6)
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(33, 6)), rng.integers(0, 5, 33).astype(np.int32)
    net.compile("cross_entropy", {"name": "sgd", "lr": 0.1}, 0.0, 0.0)
    got = net.gradients(X, y)
    tm = torch_mlp(torch, net, [6, 16, 8, 5])
    logits = tm(torch.from_numpy(X))
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y).long()).backward()
    lin = [m for m in tm if isinstance(m, torch.nn.Linear)]
    ref = [t for m in lin for t in (m.weight.grad.numpy().T, m.bias.grad.numpy())]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


OPTS = [
    ({"name": "adam", "lr": 0.01, "weight_decay": 0.01},
     lambda t, p: t.optim.Adam(p, lr=0.01, weight_decay=0.01)),
    ({"name": "adamw", "lr": 0.01}, lambda t, p: t.optim.AdamW(p, lr=0.01)),
    ({"name": "adam", "lr": 0.01, "amsgrad": True},
     lambda t, p: t.optim.Adam(p, lr=0.01, amsgrad=True)),
    ({"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ({"name": "sgd", "lr": 0.05, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.01},
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.1, weight_decay=0.01)),
    ({"name": "rmsprop", "lr": 0.01, "centered": True, "momentum": 0.3},
     lambda t, p: t.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.3)),
]


@pytest.mark.parametrize("opt", range(len(OPTS)))
def test_optimizer_steps_vs_torch(opt):
    torch = pytest.importorskip("torch")
    cfg, mk = OPTS[opt]
    layers = [dense(12, "tanh"), dense(4)]
    net = make_net(layers, 5)
    tm = torch_mlp(torch, net, [5, 12, 4], act="tanh")
    topt = mk(torch, tm.parameters())
    net.compile("cross_entropy", cfg, 0.0, 0.0)
    rng = np.random.default_rng(10)
    for _ in range(6):
        X, y = rng.normal(size=(16, 5)), rng.integers(0, 4, 16).astype(np.int32)
        loss = net.train_batch(X, y)
        topt.zero_grad()
        tl = torch.nn.functional.cross_entropy(tm(torch.from_numpy(X)), torch.from_numpy(y).long())
        tl.backward()
        topt.step()
        assert abs(loss - tl.item()) < 1e-10
    lin = [m for m in tm if isinstance(m, torch.nn.Linear)]
    ref = [t for m in lin for t in (m.weight.detach().numpy().T, m.bias.detach().numpy())]
    for p, r in zip(net.params(), ref):
        np.testing.assert_allclose(p, r, rtol=1e-9, atol=1e-12)
    assert net.step == 6


# ---- training loop -----------------------------------------------------------------------------

def _fit_weights(threads, dtype):
    old = _core.get_num_threads()
    _core.set_num_threads(threads)
    try:
        layers = [dense(96, "relu"), dict(kind="batchnorm"), dict(kind="dropout", rate=0.3),
                  dict(kind="noise", stddev=0.1), dense(70, "gelu"), dense(7)]
        net = make_net(layers, 33, dtype, seed=3, wscale=0.2)
        rng = np.random.default_rng(11)
        X = rng.normal(size=(301, 33)).astype(dtype)
        y = rng.integers(0, 7, 301).astype(np.int32)
        net.compile("cross_entropy", {"name": "adam", "lr": 1e-3}, 0.0, 1e-4)
        for e in range(2):
            r = net.fit_epoch(X, y, 64, True, e)
        assert r.totals.count == 301 and not r.nonfinite
        return [p.copy() for p in net.params()], r.totals.as_dict()
    finally:
        _core.set_num_threads(old)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_epoch_bitwise_deterministic_over_threads(dtype):
    w1, r1 = _fit_weights(1, dtype)
    w2, r2 = _fit_weights(2, dtype)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert r1 == r2


def test_fit_epoch_matches_manual_batches_without_shuffle():
    layers = [dense(8, "relu"), dense(3)]
    a, b = make_net(layers, 4), make_net(layers, 4)
    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 3, 50).astype(np.int32)
    for n in (a, b):
        n.compile("cross_entropy", {"name": "adam", "lr": 0.01}, 0.0, 0.0)
    r = a.fit_epoch(X, y, 16, False, 0)
    losses = [b.train_batch(X[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16)]
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p, q)
    assert abs(r.totals.loss - np.dot(losses, [16, 16, 16, 2]) / 50) < 1e-12
    assert r.totals.count == 50 and r.interrupted is False


def test_fit_epoch_nonfinite_restores_weights():
    layers = [dense(8, "relu"), dense(1)]
    net = make_net(layers, 3)
    X = np.random.default_rng(13).normal(size=(64, 3)) * 1e3
    y = np.random.default_rng(14).normal(size=(64, 1)) * 1e150
    net.compile("mse", {"name": "sgd", "lr": 1e10}, 0.0, 0.0)
    start = [p.copy() for p in net.params()]
    r = net.fit_epoch(X, y, 8, True, 0)
    assert r.nonfinite and np.isnan(r.totals.loss)
    for p, q in zip(net.params(), start):   # rolled back to the start of the epoch
        np.testing.assert_array_equal(p, q)
    assert net.step == 0


def test_optimizer_state_roundtrip():
    layers = [dense(6, "relu"), dense(2)]
    rng = np.random.default_rng(15)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    a = make_net(layers, 3)
    a.compile("mse", {"name": "adam", "lr": 0.01}, 0.0, 0.0)
    a.fit_epoch(X, y, 8, True, 0)
    st = a.optimizer_state()
    assert len(st) == 2 * 4 and st[0].shape == (3, 6)
    b = make_net(layers, 3)
    b.compile("mse", {"name": "adam", "lr": 0.01}, 0.0, 0.0)
    for p, q in zip(b.params(), a.params()):
        p[...] = q
    b.set_optimizer_state(st, a.step)
    a.fit_epoch(X, y, 8, True, 1)
    b.fit_epoch(X, y, 8, True, 1)
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError):
        b.set_optimizer_state(st[:3], 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_few_row_predicts_equal_rows_of_a_batch_bitwise(dtype):
    """predict on 1..9 rows (the GEMM's one-row and few-row paths, which stream W unpacked)
    returns exactly the rows a large batch returns."""
    layers = [dense(70, "gelu"), dict(kind="batchnorm"), dense(33, "relu"), dense(4)]
    net = make_net(layers, 45, dtype, wscale=0.2)
    X = np.random.default_rng(17).normal(size=(300, 45)).astype(dtype)
    full = net.predict(X)
    for m in range(1, 10):
        np.testing.assert_array_equal(net.predict(X[5:5 + m]), full[5:5 + m])


def test_checkpoint_and_rollback_restore_everything_training_changes():
    """net.checkpoint()/rollback(): the rollback fit_epoch applies on divergence, for epochs run
    batch by batch: parameters, BatchNorm running statistics, optimizer state and step."""
    layers = [dense(6, "relu"), dict(kind="batchnorm"), dense(3)]
    net = make_net(layers, 4)
    net.compile("cross_entropy", {"name": "adam", "lr": 0.05}, 0.0, 0.0)
    with pytest.raises(ValueError, match="no checkpoint"):
        net.rollback()
    rng = np.random.default_rng(30)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40).astype(np.int32)
    net.train_batch(X, y)
    net.checkpoint()
    params, state, step = [p.copy() for p in net.params()], net.optimizer_state(), net.step
    for _ in range(3):
        net.train_batch(X, y)
    assert net.step == step + 3
    net.rollback()
    for p, q in zip(net.params(), params):
        np.testing.assert_array_equal(p, q)
    for p, q in zip(net.optimizer_state(), state):
        np.testing.assert_array_equal(p, q)
    assert net.step == step
    net.compile("cross_entropy", {"name": "sgd", "lr": 0.05}, 0.0, 0.0)  # state layout changed
    with pytest.raises(ValueError, match="does not match"):
        net.rollback()


def test_concurrent_predicts():
    layers = [dense(300, "relu"), dense(5)]
    net = make_net(layers, 260, "float32", wscale=0.1)
    X = np.random.default_rng(16).normal(size=(700, 260)).astype(np.float32)
    ref, ref1 = net.predict(X), net.predict(X[:1])
    np.testing.assert_array_equal(ref1, ref[:1])  # the GEMM's one-row path: same bits as a batch
    errors = []

    def work():
        for _ in range(20):
            if not (np.array_equal(net.predict(X), ref)
                    and np.array_equal(net.predict(X[:1]), ref1)):
                errors.append(1)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


# ---- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("layers, match", [
    ([dict(kind="dense", units=0)], "units"),
    ([dict(kind="dense", units=3, activation="nope")], "relu"),
    ([dict(kind="activation", name="bogus")], "valid names"),
    ([dict(kind="dropout", rate=1.0)], "rate"),
    ([dict(kind="dropout", rate=-0.1)], "rate"),
    ([dict(kind="conv")], "valid kinds"),
    ([dict(kind="batchnorm", eps=0.0)], "eps"),
    ([dict(kind="noise", stddev=-1.0)], "stddev"),
])
def test_bad_layers(layers, match):
    with pytest.raises(ValueError, match=match):
        _core.Network(layers, 3, "float32", 0)


def test_bad_inputs():
    net = make_net([dense(4, "relu"), dense(3)], 5, "float32")
    with pytest.raises(ValueError, match="dtype"):
        _core.Network([], 3, "float16", 0)
    X = np.zeros((8, 5), np.float32)
    y = np.zeros(8, np.int32)
    with pytest.raises(ValueError, match="compile"):
        net.fit_epoch(X, y, 4, True, 0)
    with pytest.raises(ValueError, match="loss"):
        net.compile("hinge", {"name": "adam"}, 0.0, 0.0)
    with pytest.raises(ValueError, match="optimizer"):
        net.compile("cross_entropy", {"name": "lbfgs"}, 0.0, 0.0)
    with pytest.raises(ValueError, match="lr"):
        net.compile("cross_entropy", {"name": "adam", "lr": -1.0}, 0.0, 0.0)
    net.compile("cross_entropy", {"name": "adam"}, 0.0, 0.0)
    with pytest.raises(ValueError, match="'X'.*dtype"):
        net.predict(X.astype(np.float64))
    with pytest.raises(ValueError, match="'X'.*columns"):
        net.predict(np.zeros((8, 4), np.float32))
    with pytest.raises(ValueError, match="'X'.*2-D"):
        net.predict(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="'X'.*contiguous"):
        net.predict(np.zeros((5, 10), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="'X'"):
        net.predict([[0.0] * 5])
    with pytest.raises(ValueError, match="'batch_size'"):
        net.fit_epoch(X, y, 0, True, 0)
    with pytest.raises(ValueError, match="'y'.*outside"):
        net.fit_epoch(X, np.full(8, 3, np.int32), 4, True, 0)
    with pytest.raises(ValueError, match="'y'.*rows"):
        net.fit_epoch(X, np.zeros(7, np.int32), 4, True, 0)
    with pytest.raises(ValueError, match="'y'"):
        net.fit_epoch(X, np.zeros(8, np.int64), 4, True, 0)
    with pytest.raises(ValueError, match="'y'.*shape"):
        net.train_batch(X, np.zeros((8, 2), np.float32))
    with pytest.raises(ValueError, match="softmax"):
        _core.Network([dense(3), dict(kind="activation", name="softmax")], 2, "float32", 0).compile(
            "cross_entropy", {"name": "adam"}, 0.0, 0.0)
    with pytest.raises(ValueError, match="BatchNorm"):
        bn = _core.Network([dense(3), dict(kind="batchnorm")], 2, "float32", 0)
        bn.compile("mse", {"name": "adam"}, 0.0, 0.0)
        bn.train_batch(np.zeros((1, 2), np.float32), np.zeros((1, 3), np.float32))


def test_absurd_size_is_memory_error():
    with pytest.raises((MemoryError, ValueError)):
        _core.Network([dense(2 ** 40)], 2 ** 20, "float32", 0)


def test_ctrl_c_stops_after_current_batch():
    import os
    import signal
    import time

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread")
    net = make_net([dense(128, "relu"), dense(10)], 200, "float32", wscale=0.05)
    rng = np.random.default_rng(18)
    X = rng.normal(size=(40000, 200)).astype(np.float32)
    y = rng.integers(0, 10, 40000).astype(np.int32)
    net.compile("cross_entropy", {"name": "adam"}, 0.0, 0.0)
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        r = net.fit_epoch(X, y, 2, True, 0)
    finally:
        timer.cancel()
    if not r.interrupted:  # the epoch finished before the signal arrived (very fast machine)
        assert r.totals.count == 40000
        return
    assert 0 < r.totals.count < 40000 and r.totals.count % 2 == 0
    assert time.perf_counter() - t0 < 5.0
    assert all(np.isfinite(p).all() for p in net.params())


def test_noise_and_dropout_gradients_deterministic_and_switchable():
    layers = [dict(kind="noise", stddev=0.3), dense(8, "tanh"), dict(kind="dropout", rate=0.4),
              dense(2)]
    net = make_net(layers, 3)
    rng = np.random.default_rng(19)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 2))
    net.compile("mse", {"name": "sgd", "lr": 0.1}, 0.0, 0.0)
    g1, g2 = net.gradients(X, y), net.gradients(X, y)
    for a, b in zip(g1, g2):
        np.testing.assert_array_equal(a, b)  # same step: same masks
    plain = make_net([dense(8, "tanh"), dense(2)], 3)
    plain.compile("mse", {"name": "sgd", "lr": 0.1}, 0.0, 0.0)
    for a, b in zip(net.gradients(X, y, False), plain.gradients(X, y, False)):
        np.testing.assert_allclose(a, b, rtol=1e-12)  # stochastic layers off = identity
    Xc = X.copy()
    net.train_batch(X, y)
    np.testing.assert_array_equal(X, Xc)  # input noise never writes into the caller's X
    # the next step draws new masks
    assert not all(np.array_equal(a, b) for a, b in zip(g1, net.gradients(X, y)))


def test_bce_accepts_1d_targets_for_one_output_and_counts_elements():
    net = make_net([dense(5, "relu"), dense(1)], 3)
    rng = np.random.default_rng(20)
    X = rng.normal(size=(30, 3))
    t = (rng.uniform(size=30) > 0.5).astype(np.float64)
    net.compile("binary_cross_entropy", {"name": "adam"}, 0.0, 0.0)
    ev = net.evaluate(X, t, 8)
    loss, correct = ev.loss, ev.correct
    logits = forward_np([dense(5, "relu"), dense(1)], net.params(), X)
    assert abs(loss - loss_np("binary_cross_entropy", logits, t[:, None])) < 1e-12
    assert correct == int(((logits[:, 0] >= 0) == (t >= 0.5)).sum())


@pytest.mark.skipif(bool(os.environ.get("FASTMLP_ISA")), reason="already running a forced ISA")
def test_every_isa_table():
    """Forward, gradients and the one-row predict path with each lower ISA table forced."""
    import fastmlp as fm

    order = ["generic", "avx2", "avx512"]
    info = fm.build_info()
    best = info.get("isa_detected", info["isa"])
    isas = order[: order.index(best)] if best in order else []
    if not isas:
        pytest.skip("only the generic table exists here")
    for isa in isas:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
             os.path.abspath(__file__), "-k", "forward or small_row or central or bitwise"],
            env=dict(os.environ, FASTMLP_ISA=isa), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"FASTMLP_ISA={isa}:\n" + (proc.stdout + proc.stderr)[-4000:]
        assert " passed" in proc.stdout


@pytest.mark.parametrize("layers", [
    # in place
    [dict(kind="dropout", rate=0.2), dense(7, "relu"), dict(kind="dropout", rate=0.5), dense(3)],
    # own buffers
    [dense(7, "tanh"), dict(kind="dropout", rate=0.4), dict(kind="noise", stddev=0.2), dense(3)],
    [dense(7), dict(kind="noise", stddev=0.3), dict(kind="activation", name="elu"),
     dense(3, use_bias=False)],
])
def test_gradients_with_dropout_vs_central_differences(layers):
    """gradients(dropout=True) at step s differentiates the loss train_batch sees at step s (same
    masks): the loss is read from train_batch with a negligible SGD step, resetting `step`."""
    net = make_net(layers, 4)
    rng = np.random.default_rng(21)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, 10).astype(np.int32)
    net.compile("cross_entropy", {"name": "sgd", "lr": 1e-300}, 0.0, 0.0)
    net.step = 5
    got = net.gradients(X, y, True)

    def loss_at_step5():
        net.step = 5
        return net.train_batch(X, y)

    trainable = [p for p, tr in zip(net.params(), net.trainable()) if tr]
    assert len(got) == len(trainable)
    for g, p in zip(got, trainable):
        assert rel_err(g, central_differences(loss_at_step5, p)) < 1e-7
