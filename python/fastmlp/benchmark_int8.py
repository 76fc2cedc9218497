"""int8 inference timings for ``fastmlp bench`` / ``bench/compare.py``: a model quantized with
``model.quantize("int8")`` against the same model in float32 and against ONNX Runtime's
``onnxruntime.quantization.quantize_dynamic`` applied to the float32 ONNX export; and the int8
GEMM of the first layer's shape as a fraction of the ``vpdpbusd`` peak.

Every ratio comes from one run with the measurements interleaved (one repetition of each
contender in turn, medians over the repetitions), so a busy machine slows all of them alike.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np


def _median_time(fn, x, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn(x)
    return (time.perf_counter() - t0) / calls


def _ort_sessions(model, threads: int, tmp: str):
    """(float32 session, int8 session) of ONNX Runtime, or None when it is not installed."""
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import quantize_dynamic
    except ImportError:
        return None
    f32_path, q_path = os.path.join(tmp, "model.onnx"), os.path.join(tmp, "model.int8.onnx")
    model.to_onnx(f32_path)
    quantize_dynamic(f32_path, q_path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1

    def session(path):
        s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        return lambda X: s.run(None, {"input": X})[0]

    return session(f32_path), session(q_path)


def predict_comparison(model, X, threads: int, repeats: int = 7, latency_calls: int = 200):
    """``{"throughput": {name: rows/s}, "latency_us": {name: us}, "agreement": {...}}`` for
    fastmlp float32, fastmlp int8 and (if installed) ONNX Runtime float32 and int8 on X (float32,
    (n, 784)). ``model``: a trained float fastmlp Sequential (left unchanged)."""
    import fastmlp as fm

    q = fm.Sequential.from_bytes(model.to_bytes())
    q.quantize("int8")
    X = np.ascontiguousarray(X, dtype=np.float32)
    x1 = X[:1].copy()
    fns = {"fastmlp float32": model.predict, "fastmlp int8": q.predict}
    with tempfile.TemporaryDirectory() as tmp:
        ort_fns = _ort_sessions(model, threads, tmp)
        if ort_fns is not None:
            fns["onnxruntime float32"], fns["onnxruntime int8"] = ort_fns
        for fn in fns.values():   # warm-up: page in weights, start thread pools
            fn(X[:1000])
            fn(x1)
        big = {name: [] for name in fns}
        one = {name: [] for name in fns}
        for _ in range(repeats):
            for name, fn in fns.items():
                big[name].append(_median_time(fn, X, 1))
                one[name].append(_median_time(fn, x1, latency_calls))
        ref = fns["fastmlp float32"](X).argmax(1)
        agreement = {name: float((fn(X).argmax(1) == ref).mean()) for name, fn in fns.items()}
    return {"throughput": {n: len(X) / statistics.median(t) for n, t in big.items()},
            "latency_us": {n: 1e6 * statistics.median(t) for n, t in one.items()},
            "agreement": agreement}


def gemm_fraction_of_peak(m: int = 1024, n: int = 256, k: int = 784, threads: int = 2,
                          repeats: int = 9):
    """``(int8 GEMM GOP/s, vpdpbusd peak GOP/s, median ratio)``: u8 (m, k) x s8 (k, n) with the
    dequantizing epilogue (float32 out), weights packed once, interleaved with the peak loop
    on the same threads (``_core.vnni_peak_gops``), 50 ms of each a repetition (see
    ``benchmark_peak.fraction_of_peak``). The peak is 0 without AVX512_VNNI."""
    from fastmlp import _core
    from fastmlp.benchmark_peak import fraction_of_peak

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    w = _core.PackedS8(rng.integers(-127, 128, (k, n), dtype=np.int8))
    a_scale = np.full(m, 0.01, np.float32)
    a_zero = np.zeros(m, np.int32)
    w_scale = np.full(n, 0.01, np.float32)
    return fraction_of_peak(
        lambda: _core.gemm_u8s8(a, w, a_scale, a_zero, w_scale, threads=threads),
        lambda s: _core.vnni_peak_gops(threads, s), 2.0 * m * n * k, repeats)


def report_lines(result: dict, gemm: tuple, rows: int) -> list:
    """Plain-text lines of the int8 comparison."""
    tp, lat, agree = result["throughput"], result["latency_us"], result["agreement"]
    q = tp["fastmlp int8"]
    out = ["int8 inference (model.quantize('int8') vs ONNX Runtime quantize_dynamic), "
           "784-256-128-10:"]
    for name in tp:
        out.append(f"  {name:20s} predict {rows:,} rows: {tp[name]:>12,.0f} rows/s "
                   f"(fastmlp int8 {q / tp[name]:.2f}x); 1 row: {lat[name]:8.1f} us; "
                   f"top-1 agreement with fastmlp float32 {100 * agree[name]:.2f}%")
    ratio = lat["fastmlp int8"] / lat["fastmlp float32"]
    out.append(f"  one-row latency, fastmlp int8 / float32: {ratio:.2f}x")
    g, peak, frac = gemm
    out.append(f"  int8 GEMM 1024x256x784: {g:,.0f} GOP/s, vpdpbusd peak {peak:,.0f} GOP/s "
               f"({100 * frac:.0f}% of peak)" if peak else
               f"  int8 GEMM 1024x256x784: {g:,.0f} GOP/s (no AVX512_VNNI: portable path)")
    return out
