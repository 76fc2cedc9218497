"""fm.ops.gemm / _core.gemm against NumPy: odd shapes around the micro-kernel and block sizes,
both dtypes, all transposes, beta, bias, every activation, z_out, strided inputs, thread-count
bit-identity, and every kernel table the host supports."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core
from fastmlp.ops import GEMM_ACTIVATIONS

from reference import act_fwd

DTYPES = [np.float32, np.float64]
TRANS = [(False, False), (False, True), (True, False), (True, True)]


def _info(dtype):
    return _core.gemm_info(np.dtype(dtype).name)


def _operands(rng, m, n, k, ta, tb, dtype):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return a, b


def _op(x, t):
    return x.T if t else x


def _check_close(got, a, b, ta, tb, extra=None):
    """|got - exact| within a bound that scales with K and the dtype's epsilon."""
    A = _op(a, ta).astype(np.float64)
    B = _op(b, tb).astype(np.float64)
    exact = A @ B
    if extra is not None:
        exact = exact + extra
    k = A.shape[1]
    eps = np.finfo(got.dtype).eps
    bound = (
        2 * eps * (k + 2) * (np.abs(A) @ np.abs(B) + (np.abs(extra) if extra is not None else 0))
    )
    np.testing.assert_array_less(np.abs(got - exact), bound + 10 * np.finfo(got.dtype).tiny)


def _shapes(dtype):
    g = _info(dtype)
    mr, nr, kc = g["mr"], g["nr"], g["kc"]
    return [
        (1, 1, 1),
        (mr - 1, nr + 1, 3),
        (mr + 1, nr - 1, kc + 1),
        (mr, nr, kc),
        (1, 3 * nr + 5, 2 * kc + 3),
        (257, 33, 65),
        (2 * mr + 3, 257, 17),
        (2 * g["mc"] + 1, 2 * nr + 3, kc + 5),  # several ic blocks, B read in place
        (100, 7, kc + 1),  # narrow C: computed as C^T
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS)
def test_matches_numpy_odd_shapes(dtype, ta, tb):
    rng = np.random.default_rng(1)
    for m, n, k in _shapes(dtype):
        a, b = _operands(rng, m, n, k, ta, tb, dtype)
        got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb)
        assert got.dtype == dtype and got.shape == (m, n)
        _check_close(got, a, b, ta, tb)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (0, 0, 0), (3, 4, 0)])
def test_empty_sizes(dtype, m, n, k):
    rng = np.random.default_rng(2)
    for ta, tb in TRANS:
        a, b = _operands(rng, m, n, k, ta, tb, dtype)
        bias = np.arange(n, dtype=dtype)
        got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb, bias=bias, activation="relu")
        assert got.shape == (m, n)
        # K == 0: C = act(bias).
        np.testing.assert_array_equal(got, np.broadcast_to(np.maximum(bias, 0), (m, n)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS)
def test_beta_zero_ignores_garbage_and_beta_one_accumulates(dtype, ta, tb):
    rng = np.random.default_rng(3)
    g = _info(dtype)
    m, n, k = g["mr"] + 2, g["nr"] + 3, g["kc"] + 1
    a, b = _operands(rng, m, n, k, ta, tb, dtype)
    out = np.full((m, n), np.nan, dtype=dtype)
    _core.gemm(a, b, ta, tb, None, 0, 0.0, out, 0.0)
    assert np.isfinite(out).all()
    _check_close(out, a, b, ta, tb)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    out = c0.copy()
    _core.gemm(a, b, ta, tb, None, 0, 0.0, out, 1.0)
    _check_close(out, a, b, ta, tb, extra=c0.astype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEMM_ACTIVATIONS))
def test_bias_and_every_activation(dtype, name):
    rng = np.random.default_rng(4)
    g = _info(dtype)
    m, n, k = 2 * g["mr"] + 1, g["nr"] + 5, 37
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for alpha in ([None] if name not in ("leaky_relu", "elu") else [None, 0.3]):
        for ta, tb in TRANS:
            a, b = _operands(rng, m, n, k, ta, tb, dtype)
            bias = rng.standard_normal(n).astype(dtype)
            got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb, bias=bias, activation=name, alpha=alpha)
            z = _op(a, ta).astype(np.float64) @ _op(b, tb).astype(np.float64) + bias
            al = GEMM_ACTIVATIONS[name][1] if alpha is None else alpha
            want = act_fwd(name, z, al)
            np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * math.sqrt(k) * 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_z_out_holds_pre_activation(dtype):
    rng = np.random.default_rng(5)
    g = _info(dtype)
    m, n, k = g["mr"] + 1, 2 * g["nr"] + 1, g["kc"] + 3
    a, b = _operands(rng, m, n, k, False, False, dtype)
    bias = rng.standard_normal(n).astype(dtype)
    z = np.full((m, n), np.nan, dtype=dtype)
    y = _core.gemm(a, b, False, False, bias, GEMM_ACTIVATIONS["gelu"][0], 0.0, None, 0.0, z)
    z_lin = _core.gemm(a, b, False, False, bias, 0, 0.0)
    np.testing.assert_array_equal(z, z_lin)  # same kernel, same order: bit-identical
    np.testing.assert_allclose(y, act_fwd("gelu", z.astype(np.float64), 0.0),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_and_fortran_inputs(dtype):
    rng = np.random.default_rng(6)
    m, n, k = 19, 45, 70
    base_a = rng.standard_normal((2 * m, 3 * k)).astype(dtype)
    base_b = rng.standard_normal((k, n)).astype(dtype)
    variants_a = [
        base_a[:m, :k],                       # row stride > cols
        base_a[::2, ::3],                     # no unit stride: one copy
        np.asfortranarray(base_a[:m, :k]),    # Fortran: used as the transpose
        base_a[:m, :k][::-1],                 # negative stride
    ]
    variants_b = [base_b, np.asfortranarray(base_b), base_b[::-1][::-1], base_b.T.copy().T]
    for a in variants_a:
        for b in variants_b:
            got = fm.ops.gemm(a, b)
            _check_close(got, np.ascontiguousarray(a), np.ascontiguousarray(b), False, False)
    # Transposed views of Fortran arrays with the transpose flags.
    at = np.asfortranarray(rng.standard_normal((k, m)).astype(dtype))
    bt = np.asfortranarray(rng.standard_normal((n, k)).astype(dtype))
    got = fm.ops.gemm(at, bt, trans_a=True, trans_b=True)
    _check_close(got, at, bt, True, True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS)
def test_thread_count_bit_identical(dtype, ta, tb):
    rng = np.random.default_rng(7)
    name = np.dtype(dtype).name
    for m, n, k in [(150, 333, 300), (301, 100, 200), (64, 250, 130)]:
        assert _core.gemm_threads_for(m, n, k, 2, name) == 2
        a, b = _operands(rng, m, n, k, ta, tb, dtype)
        bias = rng.standard_normal(n).astype(dtype)
        act = GEMM_ACTIVATIONS["silu"][0]
        one = _core.gemm(a, b, ta, tb, bias, act, 0.0, None, 0.0, None, 1)
        for threads in (2, 3):
            many = _core.gemm(a, b, ta, tb, bias, act, 0.0, None, 0.0, None, threads)
            np.testing.assert_array_equal(one, many)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS)
def test_narrow_output_path(dtype, ta, tb):
    """N of a few columns (classes) runs as C^T: beta, bias, activation, z_out, threads."""
    rng = np.random.default_rng(11)
    m, n, k = 300, 7, 2 * _info(dtype)["kc"] + 9
    a, b = _operands(rng, m, n, k, ta, tb, dtype)
    bias = rng.standard_normal(n).astype(dtype)
    out = np.full((m, n), np.nan, dtype=dtype)
    z = np.empty((m, n), dtype=dtype)
    code = GEMM_ACTIVATIONS["tanh"][0]
    _core.gemm(a, b, ta, tb, bias, code, 0.0, out, 0.0, z)
    _check_close(z, a, b, ta, tb, extra=bias.astype(np.float64))
    np.testing.assert_array_equal(out, kernels_tanh(z))
    c0 = rng.standard_normal((m, n)).astype(dtype)
    acc = c0.copy()
    _core.gemm(a, b, ta, tb, None, 0, 0.0, acc, 1.0)
    _check_close(acc, a, b, ta, tb, extra=c0.astype(np.float64))
    one = _core.gemm(a, b, ta, tb, bias, code, 0.0, None, 0.0, None, 1)
    two = _core.gemm(a, b, ta, tb, bias, code, 0.0, None, 0.0, None, 2)
    np.testing.assert_array_equal(one, two)


def kernels_tanh(z):
    kernels = getattr(_core, "kernels", None)
    if kernels is not None and hasattr(kernels, "act_fwd"):
        return kernels.act_fwd("tanh", z)  # bitwise: the same vector math as the epilogue
    return _core.gemm(np.eye(z.shape[0], dtype=z.dtype), z, False, False, None, 2, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_row_equals_row_of_batch_bitwise(dtype):
    """The one-row (predict one sample) path and the tiled path agree bit for bit."""
    rng = np.random.default_rng(10)
    for ta in (False, True):
        a, b = _operands(rng, 20, 301, 600, ta, False, dtype)
        bias = rng.standard_normal(301).astype(dtype)
        code = GEMM_ACTIVATIONS["gelu"][0]
        full = _core.gemm(a, b, ta, False, bias, code, 0.0)
        for i in (0, 7, 19):
            row = a[:, i:i + 1] if ta else a[i:i + 1]
            np.testing.assert_array_equal(
                _core.gemm(row, b, ta, False, bias, code, 0.0), full[i : i + 1]
            )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS)
def test_few_rows_equal_rows_of_batch_bitwise(dtype, ta, tb):
    """M = 1 .. MR + 1 (the one-row and few-row "sup" paths where B is not transposed, the tiled
    path otherwise): each row equals that row of a batched product bit for bit, with beta,
    bias, activation and z_out, on one thread or with B's columns split over several; odd N
    and K around the vector width and KC."""
    rng = np.random.default_rng(12)
    g = _info(dtype)
    code = GEMM_ACTIVATIONS["gelu"][0]
    for n, k in [(5, 7), (g["nr"] + 3, g["kc"] + 1), (301, 2 * g["kc"] + 5)]:
        a, b = _operands(rng, 40, n, k, ta, tb, dtype)
        bias = rng.standard_normal(n).astype(dtype)
        c0 = rng.standard_normal((40, n)).astype(dtype)
        full_z = np.empty((40, n), dtype)
        full = _core.gemm(a, b, ta, tb, bias, code, 0.0, None, 0.0, full_z)
        acc = c0.copy()
        _core.gemm(a, b, ta, tb, None, 0, 0.0, acc, 1.0)
        for m in range(1, g["mr"] + 2):
            sub = np.ascontiguousarray(a[:, 3:3 + m] if ta else a[3:3 + m])
            z = np.empty((m, n), dtype)
            got = _core.gemm(sub, b, ta, tb, bias, code, 0.0, None, 0.0, z, 1)
            np.testing.assert_array_equal(got, full[3:3 + m])
            np.testing.assert_array_equal(z, full_z[3:3 + m])
            # threads: a large B's columns are split over them (same bits, bias and z_out offset)
            z2 = np.empty((m, n), dtype)
            got2 = _core.gemm(sub, b, ta, tb, bias, code, 0.0, None, 0.0, z2, 3)
            np.testing.assert_array_equal(got2, got)
            np.testing.assert_array_equal(z2, z)
            part = c0[3:3 + m].copy()
            _core.gemm(sub, b, ta, tb, None, 0, 0.0, part, 1.0, None, 1)
            np.testing.assert_array_equal(part, acc[3:3 + m])
            _check_close(part, sub, b, ta, tb, extra=c0[3:3 + m].astype(np.float64))


def test_small_path_thresholds_in_the_table():
    for dt in ("float32", "float64"):
        g = _core.gemm_info(dt)
        if g["isa"] == "generic":
            assert g["sup_max_m"] == 0 and not g["one_row"]
        else:
            assert g["sup_max_m"] >= 2 and g["one_row"] and g["sup_split_min"] > 0


def test_small_shapes_stay_single_threaded():
    assert _core.gemm_threads_for(1, 256, 784, 2) == 1
    assert _core.gemm_threads_for(4, 4, 4, 8) == 1
    assert _core.gemm_threads_for(64, 256, 784, 2) == 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_matches(dtype):
    rng = np.random.default_rng(8)
    a, b = _operands(rng, 23, 71, 130, True, False, dtype)
    bias = rng.standard_normal(71).astype(dtype)
    act = GEMM_ACTIVATIONS["tanh"][0]
    got = _core.gemm(a, b, True, False, bias, act, 0.0)
    ref = _core.gemm_ref(a, b, True, False, bias, act, 0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-4 if dtype == np.float32 else 1e-11, atol=1e-5)


def test_nan_propagates():
    a = np.ones((3, 4), np.float32)
    a[1, 2] = np.nan
    got = fm.ops.gemm(a, np.ones((4, 5), np.float32))
    assert np.isnan(got[1]).all() and np.isfinite(got[[0, 2]]).all()


def test_validation_errors():
    a32 = np.ones((3, 4), np.float32)
    b32 = np.ones((4, 5), np.float32)
    with pytest.raises(TypeError, match="same dtype"):
        fm.ops.gemm(a32, b32.astype(np.float64))
    with pytest.raises(TypeError, match="a must be"):
        fm.ops.gemm(a32.astype(np.float16), b32)
    with pytest.raises(ValueError, match="a must be 2-D"):
        fm.ops.gemm(np.ones(4, np.float32), b32)
    with pytest.raises(ValueError, match="b must be 2-D"):
        fm.ops.gemm(a32, np.ones((1, 4, 5), np.float32))
    with pytest.raises(ValueError, match="a and b"):
        fm.ops.gemm(a32, b32, trans_b=True)
    with pytest.raises(ValueError, match="bias"):
        fm.ops.gemm(a32, b32, bias=np.ones(4, np.float32))
    with pytest.raises(ValueError, match="valid names: linear"):
        fm.ops.gemm(a32, b32, activation="nope")
    with pytest.raises(ValueError, match="softmax"):
        fm.ops.gemm(a32, b32, activation="softmax")
    with pytest.raises(TypeError, match="activation"):
        fm.ops.gemm(a32, b32, activation=3)
    with pytest.raises(TypeError, match="alpha"):
        fm.ops.gemm(a32, b32, activation="elu", alpha="x")
    with pytest.raises(ValueError, match="beta"):
        _core.gemm(a32, b32, False, False, None, 0, 0.0, np.zeros((3, 5), np.float32), 0.5)
    with pytest.raises(ValueError, match="out"):
        _core.gemm(a32, b32, False, False, None, 0, 0.0, np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match="softmax|activation"):
        _core.gemm(a32, b32, False, False, None, 9, 0.0)
    # Lists are accepted; swish is silu.
    got = fm.ops.gemm([[1.0, 2.0]], [[3.0], [4.0]], activation="swish")
    np.testing.assert_allclose(got, [[11.0 / (1 + math.exp(-11.0))]])


_ISA_SCRIPT = r"""
import numpy as np, fastmlp as fm
from fastmlp import _core
assert fm.build_info()["isa"] == "{isa}", fm.build_info()["isa"]
rng = np.random.default_rng(0)
for dt in (np.float32, np.float64):
    g = _core.gemm_info(np.dtype(dt).name)
    assert g["isa"] == "{isa}", g
    for ta in (False, True):
        for tb in (False, True):
            for m, n, k in [(1, 5, 7), (g["mr"] + 1, g["nr"] + 3, g["kc"] + 1), (64, 100, 33)]:
                a = rng.standard_normal((k, m) if ta else (m, k)).astype(dt)
                b = rng.standard_normal((n, k) if tb else (k, n)).astype(dt)
                bias = rng.standard_normal(n).astype(dt)
                got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb, bias=bias, activation="gelu")
                ref = _core.gemm_ref(a, b, ta, tb, bias, 7, 0.0)
                tol = 1e-4 if dt == np.float32 else 1e-11
                np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
                one = _core.gemm(a, b, ta, tb, bias, 7, 0.0, None, 0.0, None, 1)
                two = _core.gemm(a, b, ta, tb, bias, 7, 0.0, None, 0.0, None, 2)
                np.testing.assert_array_equal(one, two)
    # few rows (one-row and sup paths) equal rows of the batched product bitwise
    for n, k in [(5, 7), (g["nr"] + 3, g["kc"] + 1)]:
        a = rng.standard_normal((30, k)).astype(dt)
        b = rng.standard_normal((k, n)).astype(dt)
        full = _core.gemm(a, b, False, False, None, 7, 0.0)
        for m in range(1, g["mr"] + 2):
            got = _core.gemm(a[2:2 + m], b, False, False, None, 7, 0.0, None, 0.0, None, 1)
            np.testing.assert_array_equal(got, full[2:2 + m])
print("ok")
"""


def _supported_isas():
    order = ["generic", "avx2", "avx512"]
    best = fm.build_info().get("isa_detected", fm.build_info()["isa"])
    return order[: order.index(best) + 1]


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_supported_isa_table(isa):
    if isa not in _supported_isas():
        pytest.skip(f"host does not support {isa}")
    env = dict(os.environ, FASTMLP_ISA=isa)
    res = subprocess.run([sys.executable, "-c", _ISA_SCRIPT.replace("{isa}", isa)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "gelu", "silu"])
def test_fused_epilogue_matches_standalone_activation_bitwise(dtype, name):
    kernels = getattr(_core, "kernels", None)
    if kernels is None or not hasattr(kernels, "act_fwd"):
        pytest.skip("standalone activation kernels not built")
    rng = np.random.default_rng(9)
    g = _info(dtype)
    a, b = _operands(rng, g["mr"] + 3, 2 * g["nr"] + 7, 50, False, True, dtype)
    bias = rng.standard_normal(b.shape[0]).astype(dtype)
    code, alpha = GEMM_ACTIVATIONS[name]
    fused = _core.gemm(a, b, False, True, bias, code, alpha)
    z = _core.gemm(a, b, False, True, bias, 0, 0.0)
    np.testing.assert_array_equal(fused, kernels.act_fwd(name, z, alpha))


def test_fp32_peak_loop_per_isa():
    """The FP32 peak the benchmarks measure against: a loop of FMAs on the active table's
    vectors (AVX-512 has twice AVX2's lanes); threads are checked."""
    peak = _core.fp32_peak_gflops(1, 0.02)
    assert peak > 0.5
    with pytest.raises(ValueError, match="threads"):
        _core.fp32_peak_gflops(0, 0.01)
