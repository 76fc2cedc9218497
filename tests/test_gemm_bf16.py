"""The bf16 GEMM (``fm.ops.gemm(..., precision="bf16")``) against a NumPy reference that rounds
the operands to bfloat16 (round to nearest even, written with uint32 bit operations): odd
shapes, every transpose, the fused epilogue, every ISA table, thread-count independence."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

from conftest import lower_isas

# The AVX512_BF16 kernel's k block: odd K and KC + 1 cross its pair and slab edges, 2 KC + 2
# splits into three equal slabs (258, 258, 254), and 63 leaves a 31-step row tail after a
# whole vector of pairs. 197 rows cross its MC = 192 row block with a 5-row tail.
KC = 384
SHAPES = [(1, 1, 1), (1, 70, 5), (5, 7, 3), (6, 64, 384), (7, 65, 385), (5, 63, KC + 1),
          (97, 130, 777), (200, 10, 64), (8, 33, 63), (13, 64, 2 * KC + 2), (197, 70, 385)]


def round_bf16(x):
    """float32 -> nearest-even bfloat16, returned as float32 (NaN kept quiet)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    r = np.where(nan, ((u >> 16) | 0x40) << 16, r)
    return (r & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def reference(a, b, ta, tb, bias=None):
    A = round_bf16(a).astype(np.float64)
    B = round_bf16(b).astype(np.float64)
    c = (A.T if ta else A) @ (B.T if tb else B)
    return c if bias is None else c + bias


def operands(rng, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def assert_close_to_reference(got, a, b, ta, tb, bias=None):
    # Up to the float32 summation order: K roundings of partial sums of |products| at most.
    ref = reference(a, b, ta, tb, bias)
    A, B = round_bf16(a).astype(np.float64), round_bf16(b).astype(np.float64)
    scale = np.abs(A.T if ta else A) @ np.abs(B.T if tb else B)
    k = (a.shape[0] if ta else a.shape[1])
    np.testing.assert_array_less(np.abs(got - ref), 4e-7 * (k + 1) * scale + 1e-30)


def test_round_bf16_reference_is_nearest_even():
    big = np.finfo(np.float32).max
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-9, -2.5, np.inf, big], np.float32)
    got = round_bf16(x)
    np.testing.assert_array_equal(got, [1.0, 1.0, 1.0 + 4 * 2**-8, 1.0, -2.5, np.inf, np.inf])
    assert np.isnan(round_bf16(np.array([np.nan], np.float32)))[0]


def test_build_info_names_the_path():
    assert fm.build_info()["bf16"] in ("avx512_bf16", "emulated")


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_bf16_gemm_matches_rounded_reference(m, n, k, ta, tb):
    rng = np.random.default_rng(m * 1000 + n + k)
    a, b = operands(rng, m, n, k, ta, tb)
    got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb, precision="bf16")
    assert got.dtype == np.float32
    assert_close_to_reference(got, a, b, ta, tb)
    emulated = _core.gemm(a, b, ta, tb, precision=2)
    assert_close_to_reference(emulated, a, b, ta, tb)


def test_bf16_differs_from_float32_as_rounding_predicts():
    rng = np.random.default_rng(1)
    a, b = operands(rng, 40, 50, 300, False, False)
    bf = fm.ops.gemm(a, b, precision="bf16")
    f32 = fm.ops.gemm(a, b)
    assert np.abs(bf - f32).max() > 1e-3  # the rounding really happens
    assert np.abs(bf - a.astype(np.float64) @ b).max() < 0.5


def test_bf16_epilogue_bias_activation_and_strides():
    rng = np.random.default_rng(2)
    a, b = operands(rng, 13, 70, 41, False, True)
    bias = rng.standard_normal(70).astype(np.float32)
    got = fm.ops.gemm(a, b, trans_b=True, bias=bias, activation="relu", precision="bf16")
    pre = fm.ops.gemm(a, b, trans_b=True, bias=bias, precision="bf16")
    np.testing.assert_array_equal(got, np.maximum(pre, 0))
    assert_close_to_reference(pre, a, b, False, True, bias)
    big = rng.standard_normal((30, 90)).astype(np.float32)
    view = big[3:20, 5:60]  # leading dimension 90
    b2 = rng.standard_normal((40, 55)).astype(np.float32)
    got = fm.ops.gemm(view, b2, trans_b=True, precision="bf16")
    assert_close_to_reference(got, np.ascontiguousarray(view), b2, False, True)
    fortran = np.asfortranarray(a)
    np.testing.assert_array_equal(fm.ops.gemm(fortran, b, trans_b=True, precision="bf16"),
                                  fm.ops.gemm(a, b, trans_b=True, precision="bf16"))


def test_bf16_nan_and_inf_propagate():
    a = np.ones((7, 9), np.float32)
    b = np.ones((9, 5), np.float32)
    a[2, 3] = np.nan
    b[4, 1] = np.inf
    c = fm.ops.gemm(a, b, precision="bf16")
    assert np.isnan(c[2]).all()
    assert np.isinf(c[[0, 1, 3, 4, 5, 6], 1]).all()
    assert np.isfinite(c[[0, 1, 3, 4, 5, 6]][:, [0, 2, 3, 4]]).all()


@pytest.mark.parametrize("m,n,k", [(1024, 256, 784), (64, 784, 256), (300, 10, 129)])
def test_bf16_gemm_bitwise_independent_of_threads(m, n, k):
    rng = np.random.default_rng(3)
    for ta, tb in [(False, False), (True, False), (False, True)]:
        a, b = operands(rng, m, n, k, ta, tb)
        runs = [_core.gemm(a, b, ta, tb, threads=t, precision=1) for t in (1, 2, 3)]
        np.testing.assert_array_equal(runs[0], runs[1])
        np.testing.assert_array_equal(runs[0], runs[2])


def test_bf16_precision_validation():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="precision"):
        fm.ops.gemm(a, a.T, precision="fp8")
    with pytest.raises(ValueError, match="precision"):
        fm.ops.gemm(a, a.T, precision=["bf16"])
    with pytest.raises(TypeError, match="float32"):
        fm.ops.gemm(a.astype(np.float64), a.T.astype(np.float64), precision="bf16")
    with pytest.raises(ValueError, match="mismatched"):
        fm.ops.gemm(a, a, precision="bf16")
    with pytest.raises(ValueError, match="float32"):
        _core.gemm(a.astype(np.float64), a.T.astype(np.float64), precision=1)


def test_bf16_peak_loop_reports_native_only():
    peak = _core.bf16_peak_gflops(1, 0.01)
    if fm.build_info()["bf16"] == "avx512_bf16":
        assert peak > 1.0
    else:
        assert peak == 0.0
    with pytest.raises(ValueError, match="threads"):
        _core.bf16_peak_gflops(0, 0.01)


_ISA_SCRIPT = """
import numpy as np, fastmlp as fm
from fastmlp import _core
from test_gemm_bf16 import SHAPES, operands, assert_close_to_reference
assert fm.build_info()["isa"] == "{isa}"
assert fm.build_info()["bf16"] == "emulated"
rng = np.random.default_rng(0)
for m, n, k in SHAPES:
    for ta in (False, True):
        for tb in (False, True):
            a, b = operands(rng, m, n, k, ta, tb)
            got = fm.ops.gemm(a, b, trans_a=ta, trans_b=tb, precision="bf16")
            assert_close_to_reference(got, a, b, ta, tb)
            two = _core.gemm(a, b, ta, tb, threads=2, precision=1)
            np.testing.assert_array_equal(_core.gemm(a, b, ta, tb, threads=1, precision=1), two)
print("ok")
"""


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_bf16_emulated_on_lower_isa_tables(isa):
    if isa not in lower_isas():
        pytest.skip(f"{isa} is not below this host's best ISA")
    here = os.path.dirname(os.path.abspath(__file__))  # the script imports this file's helpers
    env = dict(os.environ, FASTMLP_ISA=isa)
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    res = subprocess.run([sys.executable, "-c", _ISA_SCRIPT.replace("{isa}", isa)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok")


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("n,k", [(5, 7), (70, 385), (256, 784), (129, 2)])
def test_bf16_few_rows_equal_rows_of_the_batched_product_bitwise(n, k, ta):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((k, 30) if ta else (30, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    full = _core.gemm(a, b, ta, False, bias, 7, 0.0, precision=1)  # gelu epilogue
    for m in range(1, 10):
        part = a[:, 2:2 + m] if ta else a[2:2 + m]
        got = _core.gemm(part, b, ta, False, bias, 7, 0.0, threads=1, precision=1)
        np.testing.assert_array_equal(got, full[2:2 + m])
        assert_close_to_reference(_core.gemm(part, b, ta, False, precision=1), part, b, ta, False)
