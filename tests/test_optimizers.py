"""Several steps of every optimizer against torch.optim (same weights, same batches) and the
NumPy reference; both dtypes."""
import numpy as np
import pytest

import fastmlp as fm

import reference as ref

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]
TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _batches(rng, steps=6):
    return [(rng.normal(size=(9, 4)), rng.integers(0, 3, 9)) for _ in range(steps)]


def _model(dtype):
    return fm.Sequential([fm.Dense(6, activation="tanh"), fm.BatchNorm(), fm.Dense(3)],
                         input_dim=4, dtype=dtype, seed=3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_steps_match_torch(dtype, name, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    m = _model(dtype)
    m.compile(loss="cross_entropy", optimizer=getattr(fm, name)(**kw))
    tm, params = ref.torch_model(m)
    topt = getattr(torch.optim, name)(params, **kw)
    for X, y in _batches(rng):
        X = X.astype(dtype)
        loss = m.train_on_batch(X, y)
        tm.train()
        topt.zero_grad()
        tl = ref.torch_loss(tm(torch.tensor(X)), y, "cross_entropy", m)
        tl.backward()
        topt.step()
        assert loss == pytest.approx(float(tl.detach()), rel=TOL[dtype]["rtol"] * 10)
    w = m.get_weights()
    tw = [tm[0].weight.T, tm[0].bias, tm[2].weight, tm[2].bias, tm[2].running_mean,
          tm[2].running_var, tm[3].weight.T, tm[3].bias]
    for a, b in zip(w, tw):
        np.testing.assert_allclose(a, b.detach().numpy(), **TOL[dtype])


@pytest.mark.parametrize("name, kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_steps_match_numpy_reference(name, kw):
    rng = np.random.default_rng(1)
    m = fm.Sequential([fm.Dense(5, activation="sigmoid"), fm.Dense(2)], input_dim=4,
                      dtype="float64", seed=4)
    m.compile(loss="mse", optimizer=getattr(fm, name)(**kw))
    layers = ref.layers_of(m)
    params = [w.copy() for w in m.get_weights()]
    opt = ref.RefOptimizer(name.lower(), **kw)
    for _ in range(5):
        X, Y = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
        m.train_on_batch(X, Y)
        _, grads = ref.loss_and_gradients(layers, params, X, Y, "mse")
        opt.step(params, grads)
    for a, b in zip(m.get_weights(), params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_defaults_are_torch_defaults():
    torch = pytest.importorskip("torch")
    import inspect

    for name in ("SGD", "RMSprop", "Adam", "AdamW"):
        ours = inspect.signature(getattr(fm, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for p, v in ours.items():
            if p in ("learning_rate", "rule"):
                continue      # Keras' name for lr (lr=None: the default below, or this);
                # rule="keras": Keras' update rules (fastmlp.keras)
            default = theirs[p].default
            if name == "SGD" and p == "lr":
                continue      # torch.optim.SGD has no default lr (it is required); SPEC: 0.01
            ours_default = getattr(fm, name)().lr if p == "lr" else v.default
            assert ours_default == default, (name, p)


def test_schedule_sets_lr_each_epoch():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    seen = []

    def sched(epoch):
        seen.append(epoch)
        return 0.1 / (1 + epoch)

    m = _model("float64")
    m.compile(loss="cross_entropy", optimizer=fm.SGD(lr=sched))
    m.fit(X, y, epochs=3, batch_size=5, verbose=0)
    assert seen[-3:] == [0, 1, 2] and m._current_lr == pytest.approx(0.1 / 3)
    m.fit(X, y, epochs=1, batch_size=5, verbose=0)     # schedules continue across fit calls
    assert m._current_lr == pytest.approx(0.1 / 4)


def test_optimizer_state_roundtrip_makes_warm_start_identical():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    a = _model("float64")
    a.compile(loss="cross_entropy", optimizer=fm.Adam(lr=0.01))
    a.fit(X, y, epochs=2, batch_size=5, verbose=0)
    b = fm.Sequential.from_config(a.get_config())
    b.set_weights(a.get_weights())
    b.set_optimizer_state(a.get_optimizer_state())
    a.fit(X, y, epochs=1, batch_size=5, verbose=0)
    b.fit(X, y, epochs=1, batch_size=5, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
