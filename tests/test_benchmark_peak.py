"""fastmlp.benchmark_peak: the GEMM lines' timing (the product gets the peak loop's window)."""
import time

import pytest

from fastmlp.benchmark_peak import fraction_of_peak


def test_the_product_is_timed_for_the_peak_loops_window():
    windows, calls = [], []

    def call():
        calls.append(time.perf_counter())
        time.sleep(0.001)

    def peak(seconds):
        windows.append(seconds)
        return 100.0

    rate, peak_rate, frac = fraction_of_peak(call, peak, ops=1e6, repeats=3, window=0.03)
    assert windows == [0.03] * 3
    # Each repetition calls the product until its window has passed (~25 calls of >= 1 ms on
    # an idle machine): the third repetition starts two windows after the first call.
    assert len(calls) >= 3 * 5
    assert calls[-1] - calls[0] >= 2 * 0.03 - 0.005
    # The best call took at least 1 ms: at most 1e6 ops / 1e-3 s = 1 G(FL)OP/s.
    assert 0.0 < rate <= 1.0
    assert peak_rate == 100.0
    assert frac == pytest.approx(rate / 100.0)


def test_a_product_slower_than_the_window_still_gets_five_calls():
    calls = []

    def call():
        calls.append(1)
        time.sleep(0.004)

    fraction_of_peak(call, lambda seconds: 1.0, ops=1.0, repeats=2, window=0.001)
    assert len(calls) == 2 * 5


def test_no_peak_means_no_fraction():
    _, peak_rate, frac = fraction_of_peak(lambda: time.sleep(0.0001), lambda seconds: 0.0,
                                          ops=1.0, repeats=2, window=0.001)
    assert peak_rate == 0.0 and frac == 0.0
