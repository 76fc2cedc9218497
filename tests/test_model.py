"""Sequential against PyTorch (same weights) and the NumPy reference: forward, gradients of
every loss with L1/L2, BatchNorm running statistics and inference mode, dropout statistics;
plus weights, config, pickling and summary."""
import json
import pickle

import numpy as np
import pytest

import fastmlp as fm

import reference as ref

DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _net(dtype, k=3, d=5, bn=True, seed=0):
    layers = [fm.Standardize(), fm.Dense(7, activation="tanh", init="he_normal", l2=0.05)]
    if bn:
        layers += [fm.BatchNorm(momentum=0.3), fm.Activation("gelu")]
    layers += [fm.Dense(6, activation="leaky_relu"), fm.Dense(4, activation="elu"),
               fm.Dense(k, use_bias=False)]
    return fm.Sequential(layers, input_dim=d, dtype=dtype, seed=seed)


def _perturbed(model, rng):
    """Non-trivial Standardize and BatchNorm arrays, biases not zero."""
    w = model.get_weights()
    w[0] = rng.normal(size=w[0].shape)
    w[1] = rng.uniform(0.5, 2, size=w[1].shape)
    w = [a if a.ndim == 2 else a + rng.normal(scale=0.1, size=a.shape) for a in w]
    for i, layer_arr in enumerate(w):                       # keep variances positive
        if i >= 2 and layer_arr.ndim == 1 and i in _var_idx(model):
            w[i] = np.abs(layer_arr) + 0.5
    model.set_weights([a.astype(model.dtype) for a in w])


def _var_idx(model):
    out, i = set(), 0
    for layer in model.layers:
        n = len(layer.param_specs(1))
        if isinstance(layer, fm.BatchNorm):
            out.add(i + 3)
        i += n
    return out


def _targets(loss, rng, n, k):
    if loss == "cross_entropy":
        return rng.integers(0, k, n)
    if loss == "cross_entropy_probs":
        p = rng.uniform(size=(n, k))
        return p / p.sum(axis=1, keepdims=True)
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_matches_torch_in_both_modes(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    m = _net(dtype)
    _perturbed(m, rng)
    X = rng.normal(size=(37, 5))
    tm, _ = ref.torch_model(m)
    tx = torch.tensor(X.astype(dtype))
    tm.eval()
    with torch.no_grad():
        np.testing.assert_allclose(m.predict(X), tm(tx).numpy(), **TOL[dtype])
    tm.train()
    with torch.no_grad():   # training=True: batch statistics (no state change checked below)
        before = m.get_weights()
        np.testing.assert_allclose(m.predict(X, training=True), tm(tx).numpy(), **TOL[dtype])
        for a, b in zip(before, m.get_weights()):
            np.testing.assert_array_equal(a, b)
    # the NumPy reference agrees too
    z, _ = ref.forward(ref.layers_of(m), m.get_weights(), X.astype(dtype))
    np.testing.assert_allclose(m.predict(X), z, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_probs", "binary_cross_entropy",
                                  "mse"])
def test_gradients_match_torch_with_l1_l2(dtype, loss):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    k, l1, l2 = 3, 0.01, 0.02
    m = _net(dtype, k=k)
    _perturbed(m, rng)
    name = "cross_entropy" if loss.startswith("cross") else loss
    m.compile(loss=name, optimizer=fm.SGD(lr=0.1), l1=l1, l2=l2)
    X = rng.normal(size=(23, 5)).astype(dtype)
    y = _targets(loss, rng, 23, k)
    grads = m.gradients(X, y)
    tm, params = ref.torch_model(m)
    tm.train()
    out = tm(torch.tensor(X))
    value = ref.torch_loss(out, y, name, m) + ref.torch_penalty(tm, m, l1, l2)
    value.backward()
    assert len(grads) == len(params)
    for g, p in zip(grads, params):
        tg = p.grad.numpy()
        np.testing.assert_allclose(g, tg.T if tg.ndim == 2 else tg, **TOL[dtype])
    # the reported loss includes the penalty (evaluate: inference mode; a fresh copy, as the
    # training forward above moved torch's running statistics)
    tm, _ = ref.torch_model(m)
    tm.eval()
    with torch.no_grad():
        ev = ref.torch_loss(tm(torch.tensor(X)), y, name, m) + ref.torch_penalty(tm, m, l1, l2)
    assert m.evaluate(X, y)["loss"] == pytest.approx(float(ev), rel=TOL[dtype]["rtol"] * 10)
    # the NumPy reference agrees
    _, rgrads = ref.loss_and_gradients(ref.layers_of(m), m.get_weights(), X, y, name, l1, l2)
    for g, r in zip(grads, rgrads):
        np.testing.assert_allclose(g, r, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm_running_stats_and_inference_match_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    m = fm.Sequential([fm.Dense(4), fm.BatchNorm(momentum=0.2, eps=1e-3), fm.ReLU(),
                       fm.Dense(2)], input_dim=3, dtype=dtype, seed=1)
    m.compile(loss="mse", optimizer=fm.SGD(lr=0.05))
    tm, params = ref.torch_model(m)
    opt = torch.optim.SGD(params, lr=0.05)
    for step in range(4):
        X = rng.normal(2.0, 3.0, size=(10 + step, 3)).astype(dtype)
        y = rng.normal(size=(10 + step, 2))
        m.train_on_batch(X, y)
        tm.train()
        opt.zero_grad()
        ref.torch_loss(tm(torch.tensor(X)), y, "mse", m).backward()
        opt.step()
    w = m.get_weights()
    bn = tm[2]
    np.testing.assert_allclose(w[4], bn.running_mean.numpy(), **TOL[dtype])
    np.testing.assert_allclose(w[5], bn.running_var.numpy(), **TOL[dtype])
    Xt = rng.normal(size=(5, 3)).astype(dtype)
    tm.eval()
    with torch.no_grad():
        np.testing.assert_allclose(m.predict(Xt), tm(torch.tensor(Xt)).numpy(),
                                   rtol=TOL[dtype]["rtol"] * 10, atol=TOL[dtype]["atol"] * 10)


def test_batchnorm_running_stats_match_reference_one_step():
    rng = np.random.default_rng(3)
    m = fm.Sequential([fm.BatchNorm(momentum=0.25)], input_dim=3, dtype="float64")
    m.compile(loss="mse", optimizer=fm.SGD(lr=1e-9))
    X = rng.normal(1.0, 2.0, size=(8, 3))
    m.train_on_batch(X, np.zeros((8, 3)))
    w = m.get_weights()
    np.testing.assert_allclose(w[2], 0.25 * X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(w[3], 0.75 + 0.25 * X.var(axis=0, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_statistics(dtype):
    rate = 0.3
    m = fm.Sequential([fm.Dropout(rate)], input_dim=400, dtype=dtype, seed=5)
    X = np.ones((300, 400))
    np.testing.assert_array_equal(m.predict(X), X)                    # identity at inference
    out = m.predict(X, training=True)
    kept = out != 0
    assert np.allclose(out[kept], 1 / (1 - rate), rtol=1e-6)         # inverted scaling
    assert kept.mean() == pytest.approx(1 - rate, abs=0.01)
    assert abs(out.mean() - 1.0) < 0.01                               # expectation preserved
    # per-sample masks: rows differ, and so do columns
    assert len({row.tobytes() for row in kept[:50]}) == 50
    assert kept.mean(axis=0).std() < 0.05 and kept.mean(axis=1).std() < 0.05
    np.testing.assert_array_equal(m.predict(X), X)                    # no state changed


def test_gaussian_noise_training_only():
    m = fm.Sequential([fm.GaussianNoise(0.5)], input_dim=200, dtype="float64", seed=1)
    X = np.zeros((200, 200))
    np.testing.assert_array_equal(m.predict(X), X)
    noise = m.predict(X, training=True)
    assert noise.std() == pytest.approx(0.5, rel=0.02) and abs(noise.mean()) < 0.01


def test_weights_order_shapes_and_seeds():
    m = fm.Sequential([fm.Standardize(), fm.Dense(4), fm.BatchNorm(), fm.Dense(2)],
                      input_dim=3, seed=7)
    shapes = [w.shape for w in m.get_weights()]
    assert shapes == [(3,), (3,), (3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    assert all(w.dtype == np.float32 for w in m.get_weights())
    # adding a layer at the end does not change the earlier layers' initial weights
    m2 = fm.Sequential([fm.Standardize(), fm.Dense(4), fm.BatchNorm(), fm.Dense(2),
                        fm.Dense(5)], input_dim=3, seed=7)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    # float32 and float64 models start from the same draws
    m64 = fm.Sequential([fm.Dense(4)], input_dim=3, seed=7, dtype="float64")
    m32 = fm.Sequential([fm.Dense(4)], input_dim=3, seed=7)
    np.testing.assert_array_equal(m64.get_weights()[0].astype(np.float32), m32.get_weights()[0])
    assert not np.array_equal(m.get_weights()[2],
                              fm.Sequential([fm.Dense(4)], input_dim=3, seed=8).get_weights()[0])


def test_set_weights_roundtrip_and_copies():
    m = fm.Sequential([fm.Dense(3), fm.Dense(2)], input_dim=4, seed=0)
    w = m.get_weights()
    w[0][...] = 1.0                        # a copy: the model does not change
    assert not np.all(m.get_weights()[0] == 1.0)
    m.set_weights([a.tolist() for a in w])   # lists accepted
    np.testing.assert_array_equal(m.get_weights()[0], 1.0)
    lazy = fm.Sequential([fm.Dense(3), fm.Dense(2)])      # input_dim from the weights
    lazy.set_weights(m.get_weights())
    assert lazy.input_dim == 4


def test_lazy_input_dim_from_first_fit_and_predict_before_compile():
    m = fm.Sequential([fm.Dense(2)], seed=0)
    assert m.get_weights() == [] and not m.built
    out = m.predict(np.ones((3, 6)))
    assert m.input_dim == 6 and out.shape == (3, 2)
    W, b = m.get_weights()
    np.testing.assert_allclose(out, np.ones((3, 6), np.float32) @ W + b, rtol=1e-6)


def test_predict_links():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 4))
    m = fm.Sequential([fm.Dense(3)], input_dim=4, seed=0)
    raw = m.predict(X)
    m.compile(loss="cross_entropy", optimizer="sgd")
    p = m.predict(X)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(p, ref.act_fwd("softmax", raw.astype(np.float64)), rtol=1e-5)
    m.compile(loss="binary_cross_entropy", optimizer="sgd")
    np.testing.assert_allclose(m.predict(X), 1 / (1 + np.exp(-raw.astype(np.float64))),
                               rtol=1e-5)
    m.compile(loss="mse", optimizer="sgd")
    np.testing.assert_allclose(m.predict(X), raw, rtol=1e-6)


def test_evaluate_accuracy_and_train_on_batch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    m = fm.Sequential([fm.Dense(2)], input_dim=4, seed=0, dtype="float64")
    m.compile(loss="cross_entropy", optimizer=fm.SGD(lr=0.5))
    res = m.evaluate(X, y)
    assert set(res) == {"loss", "accuracy"}
    assert res["accuracy"] == pytest.approx((m.predict(X).argmax(1) == y).mean())
    first = m.train_on_batch(X, y)
    assert first == pytest.approx(res["loss"])
    for _ in range(30):
        last = m.train_on_batch(X, y)
    assert last < first
    m.compile(loss="mse", optimizer="sgd")
    assert set(m.evaluate(X, np.eye(2)[y])) == {"loss"}


def test_config_roundtrip_json_and_from_config():
    m = fm.Sequential([fm.Standardize(), fm.Dense(5, activation=fm.LeakyReLU(0.2), l1=0.01),
                       fm.BatchNorm(), fm.Dropout(0.1), fm.GaussianNoise(0.05), fm.SiLU(),
                       fm.Dense(2)], input_dim=3, dtype="float64", seed=11)
    m.compile(loss="binary_crossentropy", optimizer=fm.AdamW(lr=fm.schedules.CosineDecay(0.1, 5),
                                                              amsgrad=True), l2=1e-3)
    cfg = json.loads(json.dumps(m.get_config()))
    assert cfg["compile"]["loss"] == "binary_cross_entropy"
    assert cfg["compile"]["optimizer"]["class"] == "AdamW"
    assert [entry["class"] for entry in cfg["layers"]][:3] == ["Standardize", "Dense", "BatchNorm"]
    again = fm.Sequential.from_config(cfg)
    assert again.get_config() == m.get_config()
    for a, b in zip(again.get_weights(), m.get_weights()):   # same seed, same initial weights
        np.testing.assert_array_equal(a, b)


def test_pickle_roundtrip_keeps_weights_and_predictions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, 30)
    m = fm.Sequential([fm.Standardize(), fm.Dense(8, activation="relu"), fm.Dense(3)],
                      input_dim=4, seed=0)
    m.compile(loss="cross_entropy", optimizer=fm.Adam(lr=0.01))
    m.fit(X, y, epochs=2, batch_size=8, verbose=0)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.predict(X), m.predict(X))
    assert m2.get_config() == m.get_config()


def test_summary(capsys):
    m = fm.Sequential([fm.Dense(4), fm.BatchNorm(), fm.Dense(2)], input_dim=3)
    m.summary()
    out = capsys.readouterr().out
    assert "Total params: 42" in out and "Trainable params: 34" in out
    assert "(None, 4)" in out and "BatchNorm" in out
    assert m.count_params() == 42
    lines = []
    fm.Sequential([fm.Dense(4)]).summary(print_fn=lines.append)
    assert "Dense" in lines[0]


def test_layer_get_set_weights_keras_style():
    m = fm.Sequential([fm.Dense(3), fm.BatchNorm(), fm.Dense(2)], input_dim=4, seed=0)
    assert m.layers[0].get_weights() == [] or len(m.layers[0].get_weights()) == 2
    w = m.get_weights()
    W, b = m.layers[2].get_weights()
    np.testing.assert_array_equal(W, w[6])
    m.layers[2].set_weights([np.ones((3, 2)), np.zeros(2)])
    np.testing.assert_array_equal(m.get_weights()[6], 1.0)
    assert len(m.layers[1].get_weights()) == 4
    with pytest.raises(ValueError, match="2 arrays"):
        m.layers[2].set_weights([np.ones((3, 2))])
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.layers[2].get_weights()[0], 1.0)
    assert fm.Dense(2).get_weights() == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_fast_path_equals_converted_input_and_checks_finiteness(dtype):
    # A C-contiguous array of the model's dtype goes straight to the engine (the latency
    # path); anything else is converted first. Both give the same bits and the same errors.
    rng = np.random.default_rng(0)
    m = fm.Sequential([fm.Dense(9, activation="tanh"), fm.Dense(3)], input_dim=5, dtype=dtype,
                      seed=0)
    m.compile("cross_entropy", "adam")
    X = rng.normal(size=(7, 5)).astype(dtype)
    fast = m.predict(X)
    for other in (X.tolist(), np.asfortranarray(X), X.astype(np.float16).astype(dtype) * 0 + X,
                  np.concatenate([X, X], axis=1)[:, :5]):
        np.testing.assert_array_equal(m.predict(other), fast)
    np.testing.assert_array_equal(m.predict(X[2:3]), fast[2:3])
    bad = X.copy()
    bad[4, 1] = np.inf
    for arr in (bad, np.asfortranarray(bad)):
        with pytest.raises(
            ValueError, match=r"X contains NaN or infinity \(first at index \(4, 1\)\)"
        ):
            m.predict(arr)
    with pytest.raises(ValueError, match="features"):
        m.predict(np.ones((2, 4), dtype))
