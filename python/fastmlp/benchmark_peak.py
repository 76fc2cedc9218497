"""A GEMM's rate as a fraction of its instruction's peak, measured on the same threads and
interleaved with it (the host is shared: each repetition runs the peak loop, then the GEMM),
for the bf16 and int8 rows of ``fastmlp bench``."""
from __future__ import annotations

import statistics
import time

import numpy as np

BF16 = 1  # _core.gemm's precision code for bf16


def fraction_of_peak(call, peak, ops: float, repeats: int = 9, window: float = 0.05):
    """``(rate, peak rate, median ratio)`` in G(FL)OP/s: `call()` does `ops` operations;
    `peak(seconds)` returns the instruction loop's rate, the best of its ~1 ms rounds over
    `seconds`. Each repetition times the peak, then `call` for as long (at least 5 calls), and
    both are the fastest seen, what a core does when the host does not preempt it. The same
    window for both: with 5 calls against ~50 rounds, the line measured how quickly the
    product recovered from the loop's pause (its first calls after one run at 40-70%), not
    the product."""
    rates, peaks = [], []
    for _ in range(repeats):
        peaks.append(peak(window))
        best, calls = float("inf"), 0
        end = time.perf_counter() + window
        while calls < 5 or time.perf_counter() < end:
            t0 = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - t0)
            calls += 1
        rates.append(ops / best / 1e9)
    ratios = [g / p for g, p in zip(rates, peaks) if p > 0]
    return (statistics.median(rates), statistics.median(peaks),
            statistics.median(ratios) if ratios else 0.0)


def bf16_gemm_fraction_of_peak(m: int = 1024, n: int = 256, k: int = 784, threads: int = 2,
                               repeats: int = 9):
    """The bf16 GEMM (float32 operands rounded while packed, float32 out) against a loop of
    independent vdpbf16ps (``_core.bf16_peak_gflops``), 50 ms of each a repetition. The peak is 0
    without AVX512_BF16."""
    from fastmlp import _core

    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    return fraction_of_peak(
        lambda: _core.gemm(a, b, False, False, None, 0, 0.0, out, 0.0, None, threads, BF16),
        lambda s: _core.bf16_peak_gflops(threads, s), 2.0 * m * n * k, repeats)
