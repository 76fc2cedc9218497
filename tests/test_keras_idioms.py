"""Keras' idioms in the native API: learning_rate=, a final softmax/sigmoid fused into the
matching cross-entropy (vs float64 NumPy and torch), models built at construction (the same
weights as built later), add/pop on a built model, fit on batches (generators, sequences,
DataLoaders) and per-step schedules (vs a float64 reference)."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import schedules


def _data(n=60, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n)


# ---------------------------------------------------------------- learning_rate=

@pytest.mark.parametrize("cls", [fm.SGD, fm.RMSprop, fm.Adam, fm.AdamW])
def test_learning_rate_beside_lr(cls):
    assert cls(learning_rate=0.05).lr == 0.05 == cls(lr=0.05).lr
    assert cls().lr == cls(lr=None).lr > 0
    with pytest.raises(ValueError, match="learning_rate"):
        cls(lr=0.1, learning_rate=0.1)
    sched = schedules.CosineDecay(0.1, 10)
    assert cls(learning_rate=sched).lr is sched


# ---------------------------------------------------------------- fused link

def _np_forward(weights, X):
    W1, b1, W2, b2 = (np.asarray(a, np.float64) for a in weights)
    return np.maximum(X @ W1 + b1, 0) @ W2 + b2


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("separate", [False, True])
def test_final_softmax_is_fused_into_cross_entropy(separate, dtype):
    X, y = _data()
    last = [fm.Dense(3), fm.Softmax()] if separate else [fm.Dense(3, activation="softmax")]
    m = fm.Sequential([fm.Dense(8, activation="relu")] + last, input_dim=5, dtype=dtype,
                      seed=3)
    m.compile(loss="sparse_categorical_crossentropy", optimizer=fm.Adam(learning_rate=1e-2))
    z = _np_forward(m.get_weights(), X)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    t = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.predict(X), p, **t)           # probabilities, as Keras
    nll = -np.log(p[np.arange(len(y)), y]).mean()
    np.testing.assert_allclose(m.evaluate(X, y)["loss"], nll, **t)
    # The same training as the logits model with the fused loss: bit for bit.
    logits = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(3)], input_dim=5,
                           dtype=dtype, seed=3)
    logits.compile(loss="cross_entropy", optimizer=fm.Adam(learning_rate=1e-2))
    for a, b in zip(m.get_weights(), logits.get_weights()):
        np.testing.assert_array_equal(a, b)
    m.fit(X, y, epochs=3, batch_size=16, verbose=0)
    logits.fit(X, y, epochs=3, batch_size=16, verbose=0)
    for a, b in zip(m.get_weights(), logits.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.predict(X), logits.predict(X))


def test_fused_softmax_and_sigmoid_gradients_vs_torch():
    torch = pytest.importorskip("torch")
    X, y = _data(n=30, seed=1)
    for act, loss, k in [("softmax", "categorical_crossentropy", 3),
                         ("sigmoid", "binary_crossentropy", 2)]:
        m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(k, activation=act)],
                          input_dim=5, dtype="float64", seed=2)
        m.compile(loss=loss, optimizer="sgd")
        Y = np.eye(3)[y] if k == 3 else (np.random.default_rng(3).random((30, 2)) > 0.5) * 1.0
        W = [torch.tensor(a, requires_grad=True) for a in m.get_weights()]
        out = torch.relu(torch.tensor(X) @ W[0] + W[1]) @ W[2] + W[3]
        if act == "softmax":     # Keras' model: softmax, then the cross-entropy of its output
            ref = -(torch.tensor(Y) * torch.log(torch.softmax(out, 1))).sum(1).mean()
            probs = torch.softmax(out, 1)
        else:
            probs = torch.sigmoid(out)
            ref = torch.nn.functional.binary_cross_entropy(probs, torch.tensor(Y))
        ref.backward()
        np.testing.assert_allclose(m.evaluate(X, Y)["loss"], ref.item(), rtol=1e-12)
        np.testing.assert_allclose(m.predict(X), probs.detach().numpy(), rtol=1e-12)
        for g, w in zip(m.gradients(X, Y), W):
            np.testing.assert_allclose(g, w.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_fused_model_config_save_load_and_onnx_shape(tmp_path):
    X, y = _data()
    m = fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(3, activation="softmax")],
                      input_dim=5, seed=0)
    m.compile(loss="cross_entropy", optimizer="adam")
    m.fit(X, y, epochs=2, verbose=0)
    cfg = m.get_config()
    assert cfg["layers"][-1]["config"]["activation"] == "softmax"    # the model as written
    m.save(tmp_path / "m.fm")
    back = fm.load(tmp_path / "m.fm")
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    back.fit(X, y, epochs=1, verbose=0)
    m.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    # Uncompiled: the softmax is an ordinary layer, predict returns the same probabilities.
    raw = fm.Sequential.from_config({**cfg, "compile": None})
    raw.set_weights(m.get_weights())
    np.testing.assert_allclose(raw.predict(X), m.predict(X), rtol=1e-6)


def test_onnx_applies_a_fused_softmax_once(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    X, y = _data()
    m = fm.Sequential([fm.Dense(4), fm.Dense(3, activation="softmax")], input_dim=5, seed=0)
    m.compile(loss="cross_entropy")
    m.to_onnx(tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": X.astype(np.float32)})[0]
    np.testing.assert_allclose(out, m.predict(X), rtol=1e-5, atol=1e-6)


def test_dropout_after_the_fused_softmax_is_refused():
    m = fm.Sequential([fm.Dense(3, activation="softmax"), fm.Dropout(0.2)], input_dim=2)
    with pytest.raises(ValueError, match="softmax"):
        m.compile(loss="cross_entropy")


# ---------------------------------------------------------------- built at construction

def test_built_at_construction_with_the_same_draws():
    layers = lambda: [fm.Dense(7, activation="relu"), fm.BatchNorm(), fm.Dropout(0.1),  # noqa
                      fm.Dense(2)]
    eager = fm.Sequential(layers(), input_dim=4, seed=11)
    assert eager.built and len(eager.layers[0].get_weights()) == 2
    lazy = fm.Sequential(layers(), seed=11)
    assert not lazy.built and lazy.layers[0].get_weights() == []
    lazy.build(4)
    for a, b in zip(eager.get_weights(), lazy.get_weights()):
        np.testing.assert_array_equal(a, b)
    hinted = fm.Sequential([fm.Dense(7, activation="relu", input_dim=4), fm.BatchNorm(),
                            fm.Dropout(0.1), fm.Dense(2)], seed=11)
    assert hinted.built
    X, y = _data(d=4, k=2)
    for m in (eager, lazy, hinted):
        m.compile(loss="cross_entropy", optimizer="adam")
        m.fit(X, y, epochs=2, verbose=0)
    for a, b, c in zip(eager.get_weights(), lazy.get_weights(), hinted.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_add_and_pop_on_a_built_model_keep_the_weights():
    m = fm.Sequential(input_dim=3, seed=0)
    m.add(fm.Dense(4))
    W = m.get_weights()
    m.add(fm.Dense(2))
    assert m.built and len(m.get_weights()) == 4
    np.testing.assert_array_equal(m.get_weights()[0], W[0])
    ref = fm.Sequential([fm.Dense(4), fm.Dense(2)], input_dim=3, seed=0)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    m.set_weights([w + 1 for w in m.get_weights()])
    kept = m.get_weights()[:2]
    m.pop()
    for a, b in zip(m.get_weights(), kept):
        np.testing.assert_array_equal(a, b)


def test_too_large_model_stays_unbuilt_until_used():
    m = fm.Sequential([fm.Dense(2**31)], input_dim=64)
    assert not m.built
    with pytest.raises(MemoryError):
        m.get_weights()


# ---------------------------------------------------------------- fit on batches

def _batches(X, y, size):
    return [(X[i:i + size], y[i:i + size]) for i in range(0, len(X), size)]


class _Seq:
    """A Keras PyDataset-like sequence of batches."""

    def __init__(self, batches):
        self.batches, self.epochs_ended = batches, 0

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _model(seed=4):
    m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(3)], input_dim=5, seed=seed)
    m.compile(loss="cross_entropy", optimizer=fm.Adam(learning_rate=1e-2), metrics=["acc"])
    return m


def test_fit_on_batches_matches_fit_on_arrays_without_shuffle():
    X, y = _data(n=64)
    ref = _model()
    ref.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    seq = _Seq(_batches(X, y, 16))
    sources = {
        "sequence": seq,
        "generator": (b for _ in range(3) for b in _batches(X, y, 16)),
        "reiterable": type("Loader", (), {"__iter__": lambda s: iter(_batches(X, y, 16))})(),
    }
    for name, source in sources.items():
        m = _model()
        h = m.fit(source, epochs=3, steps_per_epoch=4 if name == "generator" else None,
                  verbose=0)
        assert len(h.history["loss"]) == 3, name
        for a, b in zip(m.get_weights(), ref.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=name)
    assert seq.epochs_ended == 3


def test_fit_on_a_torch_dataloader_with_weights_and_validation():
    torch = pytest.importorskip("torch")
    X, y = _data(n=64)
    w = np.random.default_rng(2).uniform(0.5, 1.5, 64)
    ds = torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y),
                                        torch.tensor(w, dtype=torch.float32))
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    m, ref = _model(), _model()
    h = m.fit(loader, epochs=2, validation_data=loader, validation_steps=2, verbose=0)
    ref.fit(X, y, epochs=2, batch_size=16, shuffle=False, sample_weight=w, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    val = m.evaluate(X[:32], y[:32], sample_weight=w[:32])
    # validation_steps=2 of 16 rows: the first 32 rows, weighted
    assert np.isclose(m.evaluate(loader, steps=2)["loss"], val["loss"], rtol=1e-6)


def test_class_weight_with_batches_weights_each_row():
    X, y = _data(n=64)
    cw = {0: 2.0, 1: 0.5}
    m, ref = _model(), _model()
    m.fit(_Seq(_batches(X, y, 16)), epochs=2, class_weight=cw, verbose=0)
    ref.fit(X, y, epochs=2, batch_size=16, shuffle=False, class_weight=cw, verbose=0)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="balanced"):
        m.fit(_Seq(_batches(X, y, 16)), class_weight="balanced", verbose=0)


def test_generator_running_out_stops_training_with_a_warning():
    X, y = _data(n=32)
    m = _model()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = m.fit((b for b in _batches(X, y, 16)), epochs=5, verbose=0)
    assert len(h.history["loss"]) == 1


def test_batches_refuse_what_belongs_in_them():
    X, y = _data(n=32)
    m = _model()
    with pytest.raises(ValueError, match="y"):
        m.fit(_Seq(_batches(X, y, 16)), y, verbose=0)
    with pytest.raises(ValueError, match="tuples"):
        m.fit(_Seq([X[:4]]), verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        m.fit(X, y, steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="x"):
        m.fit(X, y, x=X, verbose=0)
    m.fit(x=X, y=y, epochs=1, verbose=0)


# ---------------------------------------------------------------- per-step schedules

@pytest.mark.parametrize("schedule", [
    schedules.PerStepExponentialDecay(0.1, decay_steps=3, decay_rate=0.5),
    schedules.PerStepExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=True),
    schedules.PiecewiseConstantDecay([2, 5], [0.1, 0.05, 0.01]),
    schedules.PerStepCosineDecay(0.1, decay_steps=6, alpha=0.1),
])
def test_per_step_schedule_vs_float64_reference(schedule):
    # Linear regression with plain SGD: each step's rate is visible in the weights.
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    m = fm.Sequential([fm.Dense(1)], input_dim=3, dtype="float64", seed=0)
    m.compile(loss="mse", optimizer=fm.SGD(learning_rate=schedule))
    W, b = (a.copy() for a in m.get_weights())
    m.fit(X, Y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    step = 0
    for _ in range(2):
        for i in range(0, 40, 10):
            Xb, Yb = X[i:i + 10], Y[i:i + 10]
            g = 2 * (Xb @ W + b - Yb) / len(Xb)
            lr = schedule(step)
            W, b = W - lr * Xb.T @ g, b - lr * g.sum(0)
            step += 1
    np.testing.assert_allclose(m.get_weights()[0], W, rtol=1e-12)
    np.testing.assert_allclose(m.get_weights()[1], b, rtol=1e-12)
    assert m.optimizer.lr_at(0) == schedule(0)


def test_keras_schedule_formulas():
    e = schedules.PerStepExponentialDecay(1.0, 10, 0.5)
    assert e(0) == 1.0 and np.isclose(e(5), 0.5 ** 0.5) and e(20) == 0.25
    s = schedules.PerStepExponentialDecay(1.0, 10, 0.5, staircase=True)
    assert s(9) == 1.0 and s(10) == 0.5
    p = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [p(0), p(10), p(11), p(20), p(21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    c = schedules.PerStepCosineDecay(2.0, 10, alpha=0.25)
    assert c(0) == 2.0 and np.isclose(c(10), 0.5) and np.isclose(c(5), 2.0 * (0.75 * 0.5 + 0.25))
    with pytest.raises(ValueError):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
