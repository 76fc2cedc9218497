"""The optimizer kernels' rule='keras' (Keras 3's update_step) vs the same formulas in NumPy
float64, every flag, odd sizes (vector tails); and BatchNorm's biased running variance."""

import numpy as np
import pytest

from fastmlp import _core

K = _core.kernels
SIZES = [1, 7, 17, 257]
STEPS = 5


def _grads(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n) for _ in range(STEPS)]


def ref_sgd(p, gs, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    m = np.zeros_like(p)
    for g in gs:
        p = p - p * weight_decay * lr
        if momentum:
            m = m * momentum - g * lr
            p = p + (m * momentum - g * lr if nesterov else m)
        else:
            p = p - g * lr
    return p


def ref_rmsprop(p, gs, lr, alpha, eps, momentum=0.0, centered=False, weight_decay=0.0):
    v, a, m = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in gs:
        p = p - p * weight_decay * lr
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            a = alpha * a + (1 - alpha) * g
            incr = lr * g / np.sqrt(v - a * a + eps)
        else:
            incr = lr * g / np.sqrt(v + eps)
        if momentum:
            m = momentum * m + incr
            incr = m
        p = p - incr
    return p


def ref_adam(p, gs, lr, beta1, beta2, eps, amsgrad=False, weight_decay=0.0):
    m, v, vhat = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(gs, 1):
        p = p - p * weight_decay * lr
        alpha = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        m = m + (g - m) * (1 - beta1)
        v = v + (g * g - v) * (1 - beta2)
        if amsgrad:
            vhat = np.maximum(vhat, v)
        p = p - m * alpha / (np.sqrt(vhat if amsgrad else v) + eps)
    return p


def _run(kind, hp, p0, gs, dtype):
    p = p0.astype(dtype)
    z = lambda: np.zeros_like(p)  # noqa: E731
    if kind == "sgd":
        buf = z()
        for k, g in enumerate(gs):
            K.sgd_update(p, g.astype(dtype), buf if hp.get("momentum") else None, first=k == 0,
                         rule="keras", **hp)
    elif kind == "rmsprop":
        sq, ga, buf = z(), z(), z()
        for g in gs:
            K.rmsprop_update(p, g.astype(dtype), sq, ga if hp.get("centered") else None,
                             buf if hp.get("momentum") else None, rule="keras", **hp)
    else:
        m, v, mx = z(), z(), z()
        for t, g in enumerate(gs, 1):
            K.adam_update(p, g.astype(dtype), m, v, mx if hp.get("amsgrad") else None, step=t,
                          rule="keras", **hp)
    return p


CASES = [
    ("sgd", dict(lr=0.1), ref_sgd),
    ("sgd", dict(lr=0.05, momentum=0.9), ref_sgd),
    ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1), ref_sgd),
    ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-2), ref_rmsprop),
    ("rmsprop", dict(lr=0.01, alpha=0.8, eps=1e-3, momentum=0.5, centered=True,
                     weight_decay=0.05), ref_rmsprop),
    ("adam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-2), ref_adam),
    ("adam", dict(lr=0.01, beta1=0.8, beta2=0.9, eps=1e-3, amsgrad=True, weight_decay=0.1),
     ref_adam),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,hp,ref", CASES,
                         ids=[f"{c[0]}-" + "-".join(f"{k}={v}" for k, v in c[1].items())
                              for c in CASES])
def test_keras_rule_vs_formula(kind, hp, ref, dtype):
    names = {"alpha": "alpha", "beta1": "beta1", "beta2": "beta2"}
    for n in SIZES:
        p0 = np.random.default_rng(n).standard_normal(n)
        gs = _grads(n, n + 1)
        want = ref(p0, gs, **{names.get(k, k): v for k, v in hp.items()})
        got = _run(kind, hp, p0, gs, dtype)
        tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12,
                                                                          atol=1e-13)
        np.testing.assert_allclose(got, want, **tol)


def test_keras_rule_differs_from_torch_where_documented():
    """Adam's first step with a large epsilon: torch adds it to the bias-corrected sqrt(v)
    (|g|), Keras to the uncorrected one (|g| * sqrt(1 - beta2)) and scales the step by
    sqrt(1 - beta2): two different steps, each as its formula says."""
    g = np.array([1e-3])
    steps = {}
    for rule in ("torch", "keras"):
        p, m, v = np.zeros(1), np.zeros(1), np.zeros(1)
        K.adam_update(p, g, m, v, step=1, lr=1.0, eps=1e-3, rule=rule)
        steps[rule] = -p[0]
    np.testing.assert_allclose(steps["torch"], 1e-3 / (1e-3 + 1e-3), rtol=1e-12)
    np.testing.assert_allclose(steps["keras"],
                               np.sqrt(1 - 0.999) * 1e-3 / (np.sqrt(1e-6 * 0.001) + 1e-3),
                               rtol=1e-12)


def test_rule_and_dampening_errors():
    p, g = np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match="rule"):
        K.sgd_update(p, g, rule="tf")
    with pytest.raises(ValueError, match="dampening"):
        K.sgd_update(p, g, np.zeros(3), momentum=0.9, dampening=0.1, rule="keras")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 5, 33])
def test_batchnorm_biased_running_var(n, dtype):
    """unbiased_var=False: Keras' moving variance (the batch's biased variance), also for a
    batch of one row (variance 0), which the unbiased rule leaves alone."""
    x = np.random.default_rng(n).standard_normal((n, 70)).astype(dtype)
    rm, rv = np.full(70, 0.5, dtype), np.full(70, 2.0, dtype)
    K.batchnorm_fwd_train(x, None, None, rm, rv, eps=1e-3, momentum=0.01, unbiased_var=False)
    x64 = x.astype(np.float64)
    tol = dict(rtol=1e-6) if dtype == np.float32 else dict(rtol=1e-14)
    np.testing.assert_allclose(rm, 0.5 * 0.99 + 0.01 * x64.mean(0), **tol)
    np.testing.assert_allclose(rv, 2.0 * 0.99 + 0.01 * x64.var(0), **tol)
