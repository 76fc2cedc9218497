"""Optimizer kernels vs torch.optim (single-tensor rules) over 5 steps with the same gradients,
every flag; and vs the formulas in NumPy without torch."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

K = _core.kernels
DTYPES = [np.float32, np.float64]
SIZES = [1, 7, 16, 17, 257, 1000]


def tol(dtype):
    # parameters are O(1) and move by O(lr) a step: an entry that ends near 0 carries the
    # absolute rounding of its O(1) history, hence atol at the float32 ulp of 1 (x8).
    return dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)


def grads(n, dtype, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(steps)]


def run_torch(opt_cls, kwargs, p0, gs):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.tensor(p0.copy()))
    opt = opt_cls([p], foreach=False, **kwargs)
    for g in gs:
        p.grad = torch.tensor(g.copy())
        opt.step()
    return p.detach().numpy()


def _check_vs_torch(opt_cls, hp, dtype, seed_offset, update):
    """For every size: ``update(p, gradients)`` (our kernel over the steps, in place) ends
    where ``opt_cls`` does from the same start and gradients."""
    for n in SIZES:
        p0 = np.random.default_rng(n).standard_normal(n).astype(dtype)
        gs = grads(n, dtype, seed=n + seed_offset)
        ref = run_torch(opt_cls, hp, p0, gs)
        p = p0.copy()
        update(p, gs)
        np.testing.assert_allclose(p, ref, **tol(dtype))


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, momentum=0.9, weight_decay=0.01),
    dict(lr=0.1, weight_decay=0.1, momentum=0.5, nesterov=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hp", SGD_CASES, ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()))
def test_sgd_vs_torch(dtype, hp):
    torch = pytest.importorskip("torch")

    def update(p, gs):
        buf = np.zeros_like(p)
        for i, g in enumerate(gs):
            K.sgd_update(p, g, buf, first=(i == 0), **hp)

    _check_vs_torch(torch.optim.SGD, hp, dtype, 0, update)


RMS_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, eps=1e-6),
    dict(lr=0.01, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
    dict(lr=0.02, weight_decay=0.01),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hp", RMS_CASES, ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()))
def test_rmsprop_vs_torch(dtype, hp):
    torch = pytest.importorskip("torch")

    def update(p, gs):
        sq, ga, buf = (np.zeros_like(p) for _ in range(3))
        for g in gs:
            K.rmsprop_update(p, g, sq, ga, buf, **hp)

    _check_vs_torch(torch.optim.RMSprop, hp, dtype, 1, update)


ADAM_CASES = [
    dict(lr=1e-2),
    dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=1e-2, amsgrad=True),
    dict(lr=1e-2, weight_decay=0.1),
    dict(lr=1e-2, weight_decay=0.1, amsgrad=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("adamw", [False, True], ids=["adam", "adamw"])
@pytest.mark.parametrize("hp", ADAM_CASES, ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()))
def test_adam_vs_torch(dtype, adamw, hp):
    torch = pytest.importorskip("torch")
    hp = dict(hp)
    if adamw and "weight_decay" not in hp:
        hp["weight_decay"] = 0.01  # AdamW's default
    b1, b2 = hp.get("betas", (0.9, 0.999))

    def update(p, gs):
        m, v, mx = (np.zeros_like(p) for _ in range(3))
        for step, g in enumerate(gs, start=1):
            K.adam_update(p, g, m, v, mx, step=step, lr=hp["lr"], beta1=b1, beta2=b2,
                          eps=hp.get("eps", 1e-8), weight_decay=hp.get("weight_decay", 0.0),
                          amsgrad=hp.get("amsgrad", False), decoupled=adamw)

    _check_vs_torch(torch.optim.AdamW if adamw else torch.optim.Adam, hp, dtype, 2, update)


def test_adam_formula_without_torch():
    n = 17
    rng = np.random.default_rng(0)
    p0, g = rng.standard_normal(n), rng.standard_normal(n)
    p, m, v = p0.copy(), np.zeros(n), np.zeros(n)
    K.adam_update(p, g, m, v, None, step=1, lr=0.1)
    # first step: m_hat = g, v_hat = g^2 -> p - lr * g / (|g| + eps)
    np.testing.assert_allclose(p, p0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    p, buf = p0.copy(), np.zeros(n)
    K.sgd_update(p, g, buf, lr=0.5, momentum=0.9, first=True)
    np.testing.assert_allclose(p, p0 - 0.5 * g, rtol=1e-15)
    np.testing.assert_array_equal(buf, g)


def test_updates_do_not_depend_on_threads():
    n = 1_000_003
    rng = np.random.default_rng(1)
    p0, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    n0 = fm.get_num_threads()
    out = []
    try:
        for nt in (1, 2):
            fm.set_num_threads(nt)
            p, m, v = p0.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)
            K.adam_update(p, g, m, v, None, step=1)
            out.append(p)
    finally:
        fm.set_num_threads(n0)
    np.testing.assert_array_equal(out[0], out[1])


def test_argument_errors():
    p, g = np.zeros(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(ValueError):
        K.sgd_update(p, g, None, lr=0.1, momentum=0.9)  # momentum without a buffer
    with pytest.raises(ValueError):
        K.sgd_update(
            p, g, np.zeros(4, np.float32), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True
        )
    with pytest.raises(ValueError):
        K.sgd_update(p, g, None, lr=-1.0)
    with pytest.raises(ValueError):
        K.adam_update(p, g, np.zeros(4, np.float32), np.zeros(4, np.float32), None, step=0)
    with pytest.raises(ValueError):
        K.adam_update(p, g, np.zeros(4, np.float32), np.zeros(4, np.float32), None, amsgrad=True)
    with pytest.raises(ValueError):
        K.adam_update(p, g, np.zeros(3, np.float32), np.zeros(4, np.float32), None)
    with pytest.raises(ValueError):
        K.rmsprop_update(p, g.astype(np.float64), np.zeros(4, np.float32))
    with pytest.raises(ValueError):
        K.rmsprop_update(p, g, np.zeros(4, np.float32), None, None, centered=True)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        K.sgd_update(ro, g, None, lr=0.1)





# Every flag combination that changes the arithmetic: (kernel, state arrays, keyword args).
SPLIT_CASES = {
    "sgd_momentum_wd": ("sgd_update", 1, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd_nesterov": ("sgd_update", 1, dict(lr=0.1, momentum=0.9, nesterov=True)),
    "rmsprop_centered_momentum_wd": ("rmsprop_update", 3, dict(lr=0.01, momentum=0.5, centered=True,
                                                               weight_decay=0.01)),
    "adam_wd": ("adam_update", 2, dict(step=3, lr=0.01, weight_decay=0.01)),
    "adamw": ("adam_update", 2, dict(step=3, lr=0.01, weight_decay=0.01, decoupled=True)),
    "amsgrad_adamw": ("adam_update", 3, dict(step=3, lr=0.01, weight_decay=0.01, decoupled=True,
                                             amsgrad=True)),
}


def _split_update(name, dtype, cuts, threads):
    kernel, nstate, kw = SPLIT_CASES[name]
    n = 1003
    rng = np.random.default_rng(5)
    p, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    state = [np.abs(rng.standard_normal(n)).astype(dtype) for _ in range(nstate)]
    n0 = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        for b, e in zip([0] + cuts, cuts + [n]):
            getattr(K, kernel)(p[b:e], g[b:e], *[s[b:e] for s in state], **kw)
    finally:
        fm.set_num_threads(n0)
    return [p] + state


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(SPLIT_CASES))
def test_update_bits_do_not_depend_on_where_the_array_is_split(name, dtype):
    # A full vector and a masked tail must round alike (no compiler-contracted FMA on one
    # side only): whole-array, odd pieces and 1/2/3 threads (whose chunks end anywhere) agree.
    whole = _split_update(name, dtype, [], 1)
    for cuts, threads in (([], 2), ([], 3), ([5, 37, 500, 999], 1), ([1, 2, 3, 17], 2)):
        for a, b in zip(whole, _split_update(name, dtype, cuts, threads)):
            np.testing.assert_array_equal(a, b)


def test_adam_flushes_subnormal_state_and_keeps_torchs_weights():
    """A unit whose gradient stays zero (a dead ReLU): its first moment decays by beta1 a step
    through the subnormal range, where x86 arithmetic takes microcode assists (an Adam step
    ran 3x slower). The FMA kernels flush subnormals to zero: the moments reach 0 where
    torch's are subnormal (the generic kernel, without FMA, keeps them), weights and normal
    moments stay at torch's (to the rounding of FMAs, an ulp a step), and the caller's
    floating-point mode is left as it was."""
    torch = pytest.importorskip("torch")
    n, steps = 37, 1000
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(n).astype(np.float32)
    gs = [rng.standard_normal(n).astype(np.float32) * 1e-3 for _ in range(3)]
    gs += [np.zeros(n, np.float32)] * steps
    tp = torch.nn.Parameter(torch.tensor(p0.copy()))
    opt = torch.optim.Adam([tp], lr=1e-2, foreach=False)
    p, m, v = p0.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)
    tiny = np.finfo(np.float32).tiny
    flushes = fm.build_info()["isa"] != "generic"
    seen_subnormal = False
    for k, g in enumerate(gs, start=1):
        tp.grad = torch.tensor(g)
        opt.step()
        K.adam_update(p, g, m, v, step=k, lr=1e-2)
        tm = opt.state[tp]["exp_avg"].numpy()
        sub = (tm != 0) & (np.abs(tm) < tiny)
        seen_subnormal |= bool(sub.any())
        if flushes:
            np.testing.assert_array_equal(m[sub], 0)
        else:
            assert (m[sub] != 0).all()
        # the decay's rounding compounds: an ulp a step
        np.testing.assert_allclose(m[~sub], tm[~sub], rtol=2e-6 + k * 1.2e-7, atol=0)
        np.testing.assert_allclose(p, tp.detach().numpy(), **tol(np.float32))
    assert seen_subnormal  # the test went through the range it is about
    # MXCSR restored: NumPy on this thread still produces subnormals.
    assert np.float32(1e-39) * np.float32(1.0) != 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_subnormal_moments_flush_in_one_step_both_dtypes(dtype):
    """float64 too (MXCSR covers both): subnormal moments with a zero gradient become 0 after
    one step on the FMA tables and stay as torch computes them on the generic one; the weights
    do not move either way (the update is far below their ulp)."""
    tiny = np.finfo(dtype).tiny
    n = 33
    p = np.linspace(0.1, 1, n).astype(dtype)  # (a weight of 0 would take the subnormal step)
    g = np.zeros(n, dtype)
    m = np.full(n, tiny / 4, dtype)          # subnormal
    v = np.full(n, 1e-6, dtype)
    p0 = p.copy()
    K.adam_update(p, g, m, v, step=10, lr=1e-3)
    if fm.build_info()["isa"] == "generic":
        np.testing.assert_array_equal(m, dtype(0.9) * dtype(tiny / 4))
    else:
        np.testing.assert_array_equal(m, 0)
    np.testing.assert_array_equal(p, p0)
    buf = np.full(n, -tiny / 8, dtype)       # SGD momentum buffer, subnormal
    K.sgd_update(p, g, buf, lr=0.1, momentum=0.9, first=False)
    if fm.build_info()["isa"] != "generic":
        np.testing.assert_array_equal(buf, 0)
    np.testing.assert_array_equal(p, p0)
