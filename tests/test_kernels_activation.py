"""Activation kernels (_core.kernels.act_fwd/act_bwd/softmax_*) vs NumPy formulas, torch and
central differences, on odd sizes, both dtypes, extreme inputs; and every ISA table the host
supports: test_every_isa_table re-runs all tests/test_kernels_*.py with FASTMLP_ISA forced lower."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

import fastmlp as fm
from fastmlp import _core

from conftest import lower_isas

K = _core.kernels
SIZES = [1, 7, 15, 16, 17, 33, 257, 1000]
DTYPES = [np.float32, np.float64]
ACTS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu", "silu"]
ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def ref_fwd(act, x, alpha):
    x = x.astype(np.float64)
    if act == "linear":
        return x
    if act == "sigmoid":
        return special.expit(x)
    if act == "tanh":
        return np.tanh(x)
    if act == "relu":
        return np.maximum(x, 0)
    if act == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    if act == "softplus":
        return np.where(x > 20, x, np.logaddexp(0.0, x))
    if act == "elu":
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    if act == "gelu":
        return 0.5 * x * special.erfc(-x / np.sqrt(2.0))  # 1 + erf(x/sqrt2) without cancellation
    if act == "silu":
        return x * special.expit(x)
    raise AssertionError(act)


def tol(dtype):
    # float32: a few ulp of the result; float64: near machine precision
    return dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)


def rand(n, dtype, scale=4.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_fwd_matches_formula(act, dtype):
    alpha = ALPHA.get(act, 0.0)
    for n in SIZES:
        x = rand(n, dtype, seed=n)
        y = K.act_fwd(act, x, alpha)
        assert y.dtype == dtype and y.shape == x.shape
        np.testing.assert_allclose(y, ref_fwd(act, x, alpha), **tol(dtype), err_msg=f"{act} n={n}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_fwd_extreme_inputs_stay_finite(act, dtype):
    alpha = ALPHA.get(act, 0.0)
    x = np.array(
        [-1e4, -50, -20.5, -20, -1e-30, 0.0, 1e-30, 19.9, 20, 20.5, 50, 1e4] * 3, dtype=dtype
    )
    y = K.act_fwd(act, x, alpha)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, ref_fwd(act, x, alpha), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "softplus", "gelu", "silu", "elu"])
def test_fwd_nan_propagates(act, dtype):
    x = np.array([np.nan, 1.0, -1.0] * 7, dtype=dtype)
    y = K.act_fwd(act, x, ALPHA.get(act, 0.0))
    assert np.all(np.isnan(y[::3])) and np.all(np.isfinite(y[1::3]))


@pytest.mark.parametrize("act", ACTS)
def test_bwd_central_differences_float64(act):
    alpha = ALPHA.get(act, 0.0)
    z = rand(257, np.float64, scale=3.0, seed=1)
    z = z[np.abs(z) > 1e-3]  # away from the kinks of relu / leaky_relu / elu
    y = K.act_fwd(act, z, alpha)
    dy = rand(z.size, np.float64, scale=1.0, seed=2)
    dz = K.act_bwd(act, dy, z=z, y=y, alpha=alpha)
    h = 1e-6
    num = (K.act_fwd(act, z + h, alpha) - K.act_fwd(act, z - h, alpha)) / (2 * h) * dy
    np.testing.assert_allclose(dz, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_bwd_reads_only_what_it_needs(act, dtype):
    alpha = ALPHA.get(act, 0.0)
    z = rand(33, dtype, seed=3)
    y = K.act_fwd(act, z, alpha)
    dy = rand(33, dtype, seed=4)
    full = K.act_bwd(act, dy, z=z, y=y, alpha=alpha)
    if K.act_bwd_needs_z(act):
        assert act in ("gelu", "silu", "softplus")
        np.testing.assert_array_equal(K.act_bwd(act, dy, z=z, alpha=alpha), full)
        with pytest.raises(ValueError):
            K.act_bwd(act, dy, y=y, alpha=alpha)
    else:
        np.testing.assert_array_equal(K.act_bwd(act, dy, y=y, alpha=alpha), full)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fwd_bwd_against_torch(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
        "softplus": F.softplus,
        "elu": lambda t: F.elu(t, 1.0),
        "gelu": F.gelu,
        "silu": F.silu,
    }
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-14)
    for act, fn in fns.items():
        for n in (17, 1000):
            x = rand(n, dtype, scale=5.0, seed=n)
            x[:6] = [-50, 50, -1e4, 1e4, 0.5, -0.5]
            t = torch.tensor(x, requires_grad=True)
            ty = fn(t)
            dy = rand(n, dtype, scale=1.0, seed=n + 1)
            ty.backward(torch.tensor(dy))
            y = K.act_fwd(act, x, ALPHA.get(act, 0.0))
            np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=atol, err_msg=act)
            dz = K.act_bwd(act, dy, z=x, y=y, alpha=ALPHA.get(act, 0.0))
            np.testing.assert_allclose(dz, t.grad.numpy(), rtol=rtol, atol=atol, err_msg=act)


def np_softmax(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_fwd_bwd(dtype):
    t = tol(dtype)
    for rows, cols in [(1, 1), (3, 7), (5, 16), (2, 17), (9, 33), (4, 257), (1000, 10)]:
        x = rand(rows * cols, dtype, scale=5.0, seed=cols).reshape(rows, cols)
        y = K.softmax_fwd(x)
        np.testing.assert_allclose(y, np_softmax(x), **t)
        dy = rand(rows * cols, dtype, seed=rows).reshape(rows, cols)
        dx = K.softmax_bwd(y, dy)
        yd = y.astype(np.float64)
        ref = yd * (dy - (dy * yd).sum(axis=1, keepdims=True))
        np.testing.assert_allclose(dx, ref, rtol=t["rtol"] * 10, atol=t["atol"] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_extreme_rows(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [50, 50, -50]], dtype=dtype)
    y = K.softmax_fwd(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, np_softmax(x), **tol(dtype))


def test_softmax_against_torch():
    torch = pytest.importorskip("torch")
    x = rand(33 * 17, np.float32, seed=5).reshape(33, 17)
    np.testing.assert_allclose(
        K.softmax_fwd(x), torch.softmax(torch.tensor(x), 1).numpy(), rtol=2e-6, atol=1e-7
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place(dtype):
    for act in ACTS:
        x = rand(257, dtype, seed=30)
        ref = K.act_fwd(act, x, ALPHA.get(act, 0.0))
        y = K.act_fwd(act, x, ALPHA.get(act, 0.0), out=x)
        assert y is x
        np.testing.assert_array_equal(x, ref)
        z = rand(257, dtype, seed=31)
        yy = K.act_fwd(act, z, ALPHA.get(act, 0.0))
        dy = rand(257, dtype, seed=32)
        np.testing.assert_array_equal(
            K.act_bwd(act, dy, z=z, y=yy, alpha=ALPHA.get(act, 0.0)),
            K.act_bwd(act, dy.copy(), z=z, y=yy, alpha=ALPHA.get(act, 0.0)),
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_epilogue_agrees_bit_for_bit(dtype):
    """The GEMM's fused activation (common/act_math.hpp) gives the same bits as act_fwd."""
    gemm = getattr(getattr(fm, "ops", None), "gemm", None)
    if gemm is None:
        pytest.skip("fm.ops.gemm not available")
    rng = np.random.default_rng(50)
    a = rng.standard_normal((33, 17)).astype(dtype)
    b = rng.standard_normal((17, 29)).astype(dtype)
    bias = rng.standard_normal(29).astype(dtype)
    lin = gemm(a, b, bias=bias)
    for act in ["sigmoid", "tanh", "relu", "softplus", "gelu", "silu"]:
        np.testing.assert_array_equal(
            gemm(a, b, bias=bias, activation=act), K.act_fwd(act, lin), err_msg=act
        )


def test_argument_errors():
    x = np.ones(5, np.float32)
    with pytest.raises(ValueError):
        K.act_fwd("nope", x)
    with pytest.raises(ValueError):
        K.act_fwd("softmax", x)
    with pytest.raises(ValueError):
        K.act_fwd("relu", np.ones(5, np.int64))
    with pytest.raises(ValueError):
        K.act_fwd("relu", np.ones((4, 4), np.float32)[:, ::2])  # not contiguous
    with pytest.raises(ValueError):
        K.act_bwd("relu", x, y=np.ones(4, np.float32))  # shape mismatch
    with pytest.raises(ValueError):
        K.act_bwd("relu", x, y=np.ones(5, np.float64))  # dtype mismatch
    with pytest.raises(ValueError):
        K.softmax_fwd(x)  # 1-D
    assert K.act_fwd("relu", np.ones(0, np.float32)).shape == (0,)


def test_results_do_not_depend_on_threads():
    x = rand(300_001, np.float32, seed=9)
    n0 = fm.get_num_threads()
    try:
        outs = []
        for nt in (1, 2):
            fm.set_num_threads(nt)
            outs.append((K.act_fwd("gelu", x), K.softmax_fwd(x[:300_000].reshape(3000, 100))))
    finally:
        fm.set_num_threads(n0)
    for a, b in zip(outs[0], outs[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not os.environ.get("FASTMLP_ISA"), reason="only in the forced-ISA re-runs")
def test_forced_isa_is_active():
    assert fm.build_info()["isa"] == os.environ["FASTMLP_ISA"]


def _import_fastmlp(isa, warnings_flag, code="import fastmlp"):
    return subprocess.run([sys.executable, "-W", warnings_flag, "-c", code], check=False,
                          env=dict(os.environ, FASTMLP_ISA=isa), capture_output=True, text=True,
                          timeout=120)


def test_misspelt_isa_request_warns_at_import():
    """An unknown FASTMLP_ISA value is ignored (the best ISA stays on) and reported as a
    RuntimeWarning at import, never an abort."""
    warned = _import_fastmlp("avx-2", "always")
    assert warned.returncode == 0, warned.stderr[-2000:]
    assert "RuntimeWarning" in warned.stderr, warned.stderr
    assert "FASTMLP_ISA='avx-2'" in warned.stderr, warned.stderr
    assert "generic, avx2, avx512" in warned.stderr
    same = "import fastmlp as fm; i = fm.build_info(); print(i['isa'] == i['isa_detected'])"
    ignored = _import_fastmlp("AVX2", "ignore", same)
    assert ignored.returncode == 0, ignored.stderr
    assert ignored.stdout.strip() == "True", ignored.stdout + ignored.stderr
    strict = _import_fastmlp("avx-2", "error::RuntimeWarning")  # a warning filter may refuse it
    assert strict.returncode != 0 and "FASTMLP_ISA='avx-2'" in strict.stderr, strict.stderr[-2000:]
    for value in ("", "generic"):  # unset and valid values import without a warning
        clean = _import_fastmlp(value, "error::RuntimeWarning")
        assert clean.returncode == 0, clean.stderr[-2000:]


@pytest.mark.skipif(bool(os.environ.get("FASTMLP_ISA")), reason="already running a forced ISA")
def test_every_isa_table():
    """Re-runs every kernel test file (tests/test_kernels_*.py) with each lower ISA table forced,
    one subprocess per table, in parallel."""
    isas = lower_isas()
    if not isas:
        pytest.skip("only the generic table exists here")
    files = sorted(
        glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_kernels_*.py"))
    )
    procs = {
        isa: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files,
             "-k", "not every_isa and not threads and not across_isas"],
            env=dict(os.environ, FASTMLP_ISA=isa), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        for isa in isas
    }
    for isa, proc in procs.items():
        out, _ = proc.communicate()
        assert proc.returncode == 0, f"FASTMLP_ISA={isa}:\n" + out[-4000:]
        assert " passed" in out, out[-2000:]
