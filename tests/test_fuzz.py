"""Property-based tests: random layer stacks, shapes, dtypes and hyper-parameters, checked
against a small NumPy forward pass and against central-difference gradients."""
from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fastmlp as fm  # noqa: E402

from reference import act_fwd  # noqa: E402

ACTS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu", "silu"]


def np_forward(spec, weights, X):
    """Inference-mode forward of the stacks built in `stacks()`, in float64."""
    h = np.asarray(X, dtype=np.float64)
    w = [np.asarray(a, dtype=np.float64) for a in weights]
    i = 0
    for kind, arg in spec:
        if kind == "dense":
            h = act_fwd(arg, h @ w[i] + w[i + 1])
            i += 2
        elif kind == "bn":
            g, b, rm, rv = w[i:i + 4]
            h = (h - rm) / np.sqrt(rv + 1e-5) * g + b
            i += 4
        elif kind == "act":
            h = act_fwd(arg, h)
    return h


@st.composite
def stacks(draw):
    n_in = draw(st.integers(1, 19))
    depth = draw(st.integers(1, 4))
    spec = []
    for _ in range(depth):
        spec.append(("dense", draw(st.sampled_from(ACTS))))
        spec[-1] = (spec[-1][0], spec[-1][1], draw(st.integers(1, 37)))
        extra = draw(st.sampled_from(["none", "bn", "dropout", "act"]))
        if extra == "bn":
            spec.append(("bn", None, None))
        elif extra == "dropout":
            spec.append(("dropout", draw(st.floats(0.0, 0.9)), None))
        elif extra == "act":
            spec.append(("act", draw(st.sampled_from(ACTS)), None))
    spec.append(("dense", "linear", draw(st.integers(1, 5))))
    rows = draw(st.integers(1, 70))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    seed = draw(st.integers(0, 2**31 - 1))
    return n_in, spec, rows, dtype, seed


def build(n_in, spec, dtype, seed):
    layers = []
    for kind, arg, units in spec:
        if kind == "dense":
            layers.append(fm.Dense(units, activation=arg))
        elif kind == "bn":
            layers.append(fm.BatchNorm())
        elif kind == "dropout":
            layers.append(fm.Dropout(arg))
        else:
            layers.append(fm.Activation(arg))
    return fm.Sequential(layers, input_dim=n_in, dtype=dtype, seed=seed)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(stacks())
def test_predict_matches_numpy(case):
    n_in, spec, rows, dtype, seed = case
    model = build(n_in, spec, dtype, seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, n_in))
    weights = model.get_weights()
    # Give BatchNorm non-trivial running statistics so inference mode is really exercised.
    i = 0
    for kind, _, _ in spec:
        if kind == "dense":
            i += 2
        elif kind == "bn":
            weights[i + 2] = rng.normal(size=weights[i + 2].shape).astype(dtype)
            weights[i + 3] = rng.uniform(0.5, 2.0, size=weights[i + 3].shape).astype(dtype)
            i += 4
    model.set_weights(weights)
    got = model.predict(X)
    np_spec = [(k, a) for k, a, _ in spec if k != "dropout"]
    expect = np_forward(np_spec, model.get_weights(), X.astype(dtype))
    tol = 2e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, expect, rtol=tol, atol=tol * (1 + np.abs(expect).max()))


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(stacks(), st.sampled_from(["mse", "cross_entropy", "binary_cross_entropy"]),
       st.floats(0, 0.1), st.floats(0, 0.1))
def test_gradients_match_central_differences(case, loss, l1, l2):
    n_in, spec, rows, _, seed = case
    # Smooth activations only: a kink within eps of a pre-activation breaks finite differences.
    smooth = {"relu": "tanh", "leaky_relu": "softplus", "elu": "silu"}
    spec = [(k, smooth.get(a, a) if k in ("dense", "act") else a, u) for k, a, u in spec]
    spec = [s for s in spec if s[0] != "dropout"]
    rows = max(rows, 2)
    model = build(n_in, spec, "float64", seed)
    model.compile(loss=loss, optimizer=fm.SGD(lr=0.1), l1=l1, l2=l2)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, n_in))
    k = spec[-1][2]
    if loss == "cross_entropy":
        y = rng.integers(0, k, size=rows)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, size=(rows, k)).astype(float)
    else:
        y = rng.normal(size=(rows, k))
    report = fm.gradcheck(model, X, y)
    # L1 has a kink at 0 too; weights are never exactly 0 after random init.
    assert report.max_rel_error < 1e-6, report.per_array


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40),
       st.booleans(), st.booleans(), st.sampled_from(["float32", "float64"]),
       st.sampled_from([None] + ACTS))
def test_gemm_matches_numpy(m, n, k, ta, tb, dtype, act):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
    bias = rng.normal(size=n).astype(dtype)
    got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb, bias=bias, activation=act)
    ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64) + bias
    ref = act_fwd(act or "linear", ref)
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1, k))
