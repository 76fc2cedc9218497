"""bf16 GEMM benchmarks (pytest-benchmark group "gemm_bf16"): the MLP shapes of bench_gemm
with precision="bf16", as GFLOP/s, speed-up over the float32 GEMM and fraction of the bf16
peak, which is measured in the same run by a loop of independent vdpbf16ps
(``_core.bf16_peak_gflops``) just before each row, as the host is shared and noisy.

    PYTHONPATH=build/dev-NAME/pkg python -m pytest bench/bench_gemm_bf16.py --benchmark-enable -q -s
    PYTHONPATH=build/dev-NAME/pkg python bench/bench_gemm_bf16.py      # table, 1 and 2 threads
"""
import os
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import SHAPES, _operands, best_time  # noqa: E402

BF16 = 1  # the binding's precision code for bf16


def measure(m, n, k, ta, tb, threads):
    """(bf16 GFLOP/s, float32 GFLOP/s, vdpbf16ps peak GFLOP/s on `threads` threads)."""
    a, b, out = _operands(m, n, k, ta, tb, np.float32)
    flops = 2.0 * m * n * k
    peak = _core.bf16_peak_gflops(threads, 0.2)
    t_bf = best_time(lambda: _core.gemm(a, b, ta, tb, None, 0, 0.0, out, 0.0, None, threads,
                                        BF16))
    t_32 = best_time(lambda: _core.gemm(a, b, ta, tb, None, 0, 0.0, out, 0.0, None, threads))
    return flops / t_bf / 1e9, flops / t_32 / 1e9, peak


@pytest.mark.benchmark(group="gemm_bf16")
@pytest.mark.parametrize("name,m,n,k,ta,tb", SHAPES, ids=[s[0] for s in SHAPES])
def test_gemm_bf16(benchmark, name, m, n, k, ta, tb):
    a, b, out = _operands(m, n, k, ta, tb, np.float32)
    benchmark(_core.gemm, a, b, ta, tb, None, 0, 0.0, out, 0.0, None, 0, BF16)
    threads = _core.get_num_threads()
    gf, gf32, peak = measure(m, n, k, ta, tb, threads)
    frac = gf / peak if peak else 0.0
    benchmark.extra_info.update(gflops=round(gf, 1), vs_f32=round(gf / gf32, 2),
                                frac_peak=round(frac, 3), threads=threads)
    print(f"\n{name} bf16 ({threads} thr): {gf:.1f} GFLOP/s, {gf / gf32:.2f}x float32, "
          f"{100 * frac:.0f}% of the vdpbf16ps peak")


def main():
    print(f"bf16 path: {fm.build_info()['bf16']}")
    head = (f"{'shape':24s} {'thr':>3s} {'bf16':>8s} {'f32':>8s} {'x f32':>6s} {'peak':>8s} "
            f"{'%peak':>6s}")
    print(head)
    print("-" * len(head))
    for name, m, n, k, ta, tb in SHAPES:
        for threads in (1, 2):
            gf, gf32, peak = measure(m, n, k, ta, tb, threads)
            pct = f"{100 * gf / peak:5.0f}%" if peak else "    -"
            print(f"{name:24s} {threads:3d} {gf:8.1f} {gf32:8.1f} {gf / gf32:6.2f} {peak:8.1f} "
                  f"{pct}")


if __name__ == "__main__":
    main()
