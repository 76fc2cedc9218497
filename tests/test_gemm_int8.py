"""The int8 GEMM (u8 activations x s8 weights, int32 accumulation) against NumPy's integer
product, exactly, on odd shapes, for every path and ISA table the host runs; its dequantizing
epilogue and the per-row activation quantizer against their formulas in NumPy."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

from conftest import lower_isas

# (M, N, K): M, N and K around the kernel's 6-row tile, 16-column vectors, 64-column panels
# and 4-step groups, M = 1 included.
SHAPES = [(1, 1, 1), (1, 10, 784), (1, 256, 33), (7, 13, 5), (6, 64, 4), (13, 70, 37),
          (5, 17, 2), (97, 129, 301), (50, 256, 784), (49, 65, 3)]


def operands(rng, m, n, k):
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    w = rng.integers(-128, 128, (k, n), dtype=np.int8)
    return a, w


def integer_reference(a, w):
    return a.astype(np.int64) @ w.astype(np.int64)


def dequant_reference(acc, zero, colsum, a_scale, w_scale, bias):
    """The epilogue's float32 formula, operation by operation."""
    corr = (acc - zero[:, None].astype(np.int64) * colsum[None, :]).astype(np.int32)
    scale = a_scale[:, None] * w_scale[None, :]          # float32 x float32
    return corr.astype(np.float32) * scale + bias[None, :]


def quantize_reference(X):
    """Per-row u8 quantization in float32, as documented in gemm_int8.hpp."""
    lo = np.minimum(X.min(axis=1), 0).astype(np.float32)
    hi = np.maximum(X.max(axis=1), 0).astype(np.float32)
    s = ((hi - lo) / np.float32(255)).astype(np.float32)
    s[~(s > 0)] = 1
    inv = (np.float32(1) / s).astype(np.float32)
    zp = np.clip(np.rint(-lo * inv), 0, 255).astype(np.int32)
    q = np.clip(np.rint(X * inv[:, None]).astype(np.int64) + zp[:, None], 0, 255)
    return q.astype(np.uint8), s, zp


def check_exact_all_paths(seed=0):
    rng = np.random.default_rng(seed)
    for m, n, k in SHAPES:
        a, w = operands(rng, m, n, k)
        packed = _core.PackedS8(w)
        want = integer_reference(a, w)
        for portable in (False, True):
            for threads in (1, 2):
                got = _core.gemm_u8s8(a, packed, threads=threads, portable=portable)
                assert got.dtype == np.int32
                np.testing.assert_array_equal(got, want, err_msg=f"{(m, n, k)} {portable}")


def test_int8_gemm_equals_integer_reference_exactly():
    check_exact_all_paths()


def test_int8_gemm_extreme_values_do_not_overflow():
    a = np.full((3, 1000), 255, np.uint8)
    w = np.full((1000, 20), -128, np.int8)
    for portable in (False, True):
        got = _core.gemm_u8s8(a, _core.PackedS8(w), portable=portable)
        assert (got == -255 * 128 * 1000).all()


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh"])
def test_dequantizing_epilogue_matches_its_formula(activation):
    rng = np.random.default_rng(1)
    for m, n, k in SHAPES:
        a, w = operands(rng, m, n, k)
        zero = rng.integers(0, 256, m).astype(np.int32)
        a_scale = rng.uniform(1e-3, 1e-1, m).astype(np.float32)
        w_scale = rng.uniform(1e-3, 1e-1, n).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        packed = _core.PackedS8(w)
        want = dequant_reference(integer_reference(a, w), zero, w.astype(np.int64).sum(0),
                                 a_scale, w_scale, bias)
        if activation == "relu":
            want = np.maximum(want, 0)
        elif activation == "tanh":
            want = np.tanh(want)
        outs = [_core.gemm_u8s8(a, packed, a_scale, zero, w_scale, bias, activation,
                                threads=t, portable=p) for p in (False, True) for t in (1, 2)]
        for got in outs:   # every path and thread count: the same bits
            np.testing.assert_array_equal(got, outs[0])
        if activation == "tanh":
            np.testing.assert_allclose(outs[0], want, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(outs[0], want)


def test_quantize_rows_matches_reference():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((37, 61)).astype(np.float32) * 3
    X[3] = 0                     # all-zero row: scale 1, zero point 0
    X[4] = np.abs(X[4])          # non-negative row (a relu's output): zero point 0
    X[5] = -np.abs(X[5])         # non-positive row: zero point 255
    q, s, z = _core.quantize_rows_u8(X)
    qr, sr, zr = quantize_reference(X)
    np.testing.assert_array_equal(s, sr)
    np.testing.assert_array_equal(z, zr)
    np.testing.assert_array_equal(q, qr)
    assert z[3] == 0 and s[3] == 1 and z[4] == 0 and z[5] == 255
    # Dequantized rows are within half a step of the input.
    back = (q.astype(np.float32) - z[:, None]) * s[:, None]
    assert (np.abs(back - X) <= 0.5 * s[:, None] * (1 + 1e-5)).all()


def test_int8_gemm_argument_checks():
    w = np.ones((8, 3), np.int8)
    packed = _core.PackedS8(w)
    assert (packed.K, packed.N) == (8, 3)
    with pytest.raises(ValueError, match="'a' must have 8 columns"):
        _core.gemm_u8s8(np.ones((2, 7), np.uint8), packed)
    with pytest.raises(ValueError, match="'a' must have dtype uint8"):
        _core.gemm_u8s8(np.ones((2, 8), np.int8), packed)
    with pytest.raises(ValueError, match="'W' must have dtype int8"):
        _core.PackedS8(np.ones((2, 8), np.float32))
    with pytest.raises(ValueError, match="a_scale"):
        _core.gemm_u8s8(np.ones((2, 8), np.uint8), packed, w_scale=np.ones(3, np.float32))


def test_vnni_peak_and_path():
    peak = _core.vnni_peak_gops(1, 0.01)
    if fm.build_info()["int8"] == "avx512_vnni":
        assert peak > 1.0
    else:
        assert peak == 0.0
    with pytest.raises(ValueError, match="threads"):
        _core.vnni_peak_gops(0, 0.01)


_ISA_SCRIPT = """
import fastmlp as fm
from test_gemm_int8 import check_exact_all_paths
assert fm.build_info()["isa"] == "{isa}"
assert fm.build_info()["int8"] in {want}
check_exact_all_paths()
print("ok")
"""


@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_int8_portable_path_on_lower_isa_tables(isa):
    if isa not in lower_isas():
        pytest.skip(f"{isa} is not below this host's best ISA")
    here = os.path.dirname(os.path.abspath(__file__))  # the script imports this file's helpers
    env = dict(os.environ, FASTMLP_ISA=isa)
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    # AVX-VNNI (256-bit vpdpbusd) runs under the AVX2 table where the CPU has it.
    want = ("avx_vnni", "portable") if isa == "avx2" else ("portable",)
    script = _ISA_SCRIPT.replace("{isa}", isa).replace("{want}", repr(want))
    res = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok")
