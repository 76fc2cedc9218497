"""Dropout / Gaussian noise kernels: keep fraction, inverted scaling, determinism per
(seed, stream, index), independence from the thread count and the call size, argument checks."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

from conftest import lower_isas

K = _core.kernels
DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_keep_fraction_and_scaling(dtype, rate):
    n = 200_000
    x = np.ones(n, dtype)
    y, mask = K.dropout_mask_fwd(x, rate, 1234, 7)
    assert y.dtype == dtype and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    keep = mask.mean()
    assert abs(keep - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n) + 1e-12
    scale = dtype(1) / (dtype(1) - dtype(rate))
    np.testing.assert_array_equal(y, np.where(mask == 1, x * scale, 0).astype(dtype))
    # inverted dropout preserves the mean
    assert abs(y.mean() - 1.0) < 6 * np.sqrt(rate / (1 - rate) / n) + 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_stream_same_mask_and_prefix_property(dtype):
    x = np.random.default_rng(0).standard_normal(1000).astype(dtype)
    y1, m1 = K.dropout_mask_fwd(x, 0.3, 42, 5)
    y2, m2 = K.dropout_mask_fwd(x, 0.3, 42, 5)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)
    for n in (1, 7, 15, 16, 17, 33, 257):  # element i's draw does not depend on n
        _, m = K.dropout_mask_fwd(x[:n], 0.3, 42, 5)
        np.testing.assert_array_equal(m, m1[:n])
    _, m3 = K.dropout_mask_fwd(x, 0.3, 42, 6)
    _, m4 = K.dropout_mask_fwd(x, 0.3, 43, 5)
    assert (m3 != m1).mean() > 0.2 and (m4 != m1).mean() > 0.2


def test_mask_same_for_both_dtypes():
    x = np.ones(513)
    _, m64 = K.dropout_mask_fwd(x, 0.25, 9, 1)
    _, m32 = K.dropout_mask_fwd(x.astype(np.float32), 0.25, 9, 1)
    np.testing.assert_array_equal(m32, m64)


def test_mask_does_not_depend_on_threads():
    x = np.ones(1_000_003, np.float32)
    n0 = fm.get_num_threads()
    try:
        fm.set_num_threads(1)
        y1, m1 = K.dropout_mask_fwd(x, 0.5, 77, 3)
        z1 = K.gaussian_noise_fwd(x, 0.5, 77, 3)
        fm.set_num_threads(2)
        y2, m2 = K.dropout_mask_fwd(x, 0.5, 77, 3)
        z2 = K.gaussian_noise_fwd(x, 0.5, 77, 3)
    finally:
        fm.set_num_threads(n0)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(z1, z2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_bwd(dtype):
    for n in (1, 7, 16, 17, 257, 1000):
        x = np.random.default_rng(n).standard_normal(n).astype(dtype)
        _, mask = K.dropout_mask_fwd(x, 0.4, 3, n)
        dy = np.random.default_rng(n + 1).standard_normal(n).astype(dtype)
        dx = K.dropout_bwd(dy, mask, 0.4)
        scale = dtype(1) / (dtype(1) - dtype(0.4))
        np.testing.assert_array_equal(dx, np.where(mask == 1, dy * scale, 0).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place(dtype):
    x = np.random.default_rng(3).standard_normal(1001).astype(dtype)
    ref_y, ref_m = K.dropout_mask_fwd(x, 0.3, 5, 6)
    y, m = K.dropout_mask_fwd(x, 0.3, 5, 6, out=x)
    assert y is x
    np.testing.assert_array_equal(x, ref_y)
    np.testing.assert_array_equal(m, ref_m)


def test_rate_zero_keeps_everything():
    x = np.arange(100, dtype=np.float64)
    y, m = K.dropout_mask_fwd(x, 0.0, 1, 1)
    assert m.all()
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_noise_statistics(dtype):
    n = 200_000
    x = np.full(n, 3.0, dtype)
    y = K.gaussian_noise_fwd(x, 0.5, 11, 2)
    z = (y.astype(np.float64) - 3.0) / 0.5
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.std() - 1.0) < 0.01
    assert abs((np.abs(z) < 1).mean() - 0.6827) < 0.01
    assert np.all(np.isfinite(z))
    np.testing.assert_array_equal(K.gaussian_noise_fwd(x[:33], 0.5, 11, 2), y[:33])
    assert not np.array_equal(K.gaussian_noise_fwd(x[:100], 0.5, 11, 3), y[:100])
    np.testing.assert_array_equal(K.gaussian_noise_fwd(x, 0.0, 11, 2), x)


def test_argument_errors():
    x = np.ones(10, np.float32)
    for bad in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError):
            K.dropout_mask_fwd(x, bad, 0, 0)
        with pytest.raises(ValueError):
            K.dropout_bwd(x, np.ones(10, np.uint8), bad)
    with pytest.raises(ValueError):
        K.dropout_bwd(x, np.ones(9, np.uint8), 0.5)
    with pytest.raises(ValueError):
        K.dropout_bwd(x, np.ones(10, np.int8), 0.5)
    with pytest.raises(ValueError):
        K.gaussian_noise_fwd(x, -1.0, 0, 0)
    with pytest.raises(ValueError):
        K.dropout_mask_fwd(np.ones(10, np.int32), 0.5, 0, 0)




@pytest.mark.skipif(bool(os.environ.get("FASTMLP_ISA")), reason="already running a forced ISA")
def test_mask_bit_identical_across_isas():
    code = (
        "import hashlib, numpy as np, fastmlp as fm; from fastmlp import _core; "
        "y, m = _core.kernels.dropout_mask_fwd(np.ones(100_003, np.float32), 0.3, 2024, 17); "
        "z = _core.kernels.gaussian_noise_fwd(np.zeros(1001), 1.0, 2024, 17); "
        "print(fm.build_info()['isa'], hashlib.sha256(m.tobytes() + z.tobytes()).hexdigest())"
    )
    digests = {}
    for isa in ["generic", "avx2", "avx512"]:
        if isa != fm.build_info().get("isa_detected") and isa not in lower_isas():
            continue
        out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, FASTMLP_ISA=isa),
                             capture_output=True, text=True, check=True).stdout.split()
        digests[out[0]] = out[1]
    assert len(set(digests.values())) == 1, digests
