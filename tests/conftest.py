"""What several test files share: small data and model builders, central differences, the
ISAs below the host's best, and a stand-in for the engine's network that records or changes
some of its calls.

The builders keep each test file's old data bit for bit (same generator calls in the same
order), so moving them here changed no test's numbers.
"""
import os

import numpy as np
import pytest

import fastmlp as fm

ISA_ORDER = ["generic", "avx2", "avx512"]


def make_data(target="labels", n=120, d=4, k=3, seed=0):
    """``X`` of shape (n, d) drawn N(0, 1) and targets of kind ``target``:

    - ``"separable"``: labels 0..k-1 from thresholds on the first two features (learnable);
    - ``"labels"``: random labels 0..k-1;
    - ``"probs"``: random rows of k class probabilities;
    - ``"binary"``: random 0/1 of shape (n, k) (float64);
    - ``"values"``: N(0, 1) of shape (n, k), or (n,) when k == 1.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if target == "separable":
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
        return X, np.minimum(y, k - 1)
    if target == "labels":
        return X, rng.integers(0, k, n)
    if target == "probs":
        p = rng.uniform(size=(n, k))
        return X, p / p.sum(axis=1, keepdims=True)
    if target == "binary":
        return X, rng.integers(0, 2, (n, k)).astype(np.float64)
    if target == "values":
        return X, rng.normal(size=(n, k)) if k > 1 else rng.normal(size=n)
    raise ValueError(f"unknown target kind {target!r}")


def make_mlp(hidden=(16,), k=3, d=4, activation="relu", dtype="float32", seed=0,
             loss="cross_entropy", optimizer=None, first=(), bias_noise=0.0, **compile_kw):
    """A compiled ``first + [Dense(h, activation) for h in hidden] + [Dense(k)]`` on ``d``
    inputs (``activation``: one name, or one per hidden layer), Adam(lr=1e-2) unless
    ``optimizer`` is given. ``bias_noise > 0`` adds N(0, bias_noise**2) to every 1-D array (a
    generator seeded ``seed + 1000``), so that no gradient is zero by symmetry."""
    acts = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
    layers = [*first, *(fm.Dense(h, activation=a) for h, a in zip(hidden, acts)), fm.Dense(k)]
    m = fm.Sequential(layers, input_dim=d, dtype=dtype, seed=seed)
    m.compile(loss, optimizer or fm.Adam(lr=1e-2), **compile_kw)
    if bias_noise:
        rng = np.random.default_rng(seed + 1000)
        m.set_weights([w + (rng.normal(scale=bias_noise, size=w.shape) if w.ndim == 1 else 0.0)
                       for w in m.get_weights()])
    return m


def central_differences(loss, x, h=1e-6):
    """d loss() / d x by central differences, each element of ``x`` moved in place (and put
    back): ``x`` may be a view into the engine's arrays."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = loss()
        flat[i] = old - h
        down = loss()
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return g


def lower_isas():
    """The kernel sets below the best this host runs (FASTMLP_ISA can force each)."""
    best = fm.build_info().get("isa_detected", fm.build_info()["isa"])
    return ISA_ORDER[: ISA_ORDER.index(best)]


class NetStandIn:
    """The model's engine network with some methods replaced: ``NetStandIn(model._net,
    fit_epoch=f)`` answers ``fit_epoch(*a)`` with ``f(real_net, *a)`` and everything else
    from the real network."""

    def __init__(self, net, **methods):
        self._real, self._methods = net, methods

    def __getattr__(self, name):
        if name in self._methods:
            method = self._methods[name]
            return lambda *a, **k: method(self._real, *a, **k)
        return getattr(self._real, name)


def run_in_threads(work, n):
    """Runs ``work(i)`` for i in range(n) on n threads at once; returns the exceptions raised
    (a failure in a thread would otherwise be lost)."""
    import threading

    errors = []

    def guarded(i):
        try:
            work(i)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            errors.append(e)

    ts = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors



def keras_on_jax():
    """Real Keras 3 on its JAX backend for the comparison tests (skips the module without
    it)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("these comparisons run on Keras' JAX backend", allow_module_level=True)
    return keras
