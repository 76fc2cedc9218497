"""fastmlp vs a plain PyTorch loop vs scikit-learn's MLPClassifier, in one run.

    python bench/compare.py             # 60,000 x 784 synthetic MNIST-shaped data (minutes)
    python bench/compare.py --quick     # fewer samples (about half a minute)
    python bench/compare.py --markdown  # tables for the README
    python bench/compare.py --threads 1
    python bench/compare.py --contention [--quick] [--markdown]  # next to a busy process and
                                        # NumPy's threads, vs PyTorch (bench/contention.py)

Cases: 784-256-128-10 ReLU at batch 64 and 1024 (with % of FP32 peak), the same with
BatchNorm + Dropout(0.2) at batch 64, one-sample predict latency, 60,000-row predict
throughput, the same two predict cases after model.quantize("int8") against fastmlp float32
and ONNX Runtime's quantize_dynamic (plus the int8 GEMM as % of a vpdpbusd peak; alone:
bench/bench_int8.py), a tiny 20-64-64-1 binary net at batch 64, fastmlp at 1 vs 2 threads; peak RSS
during each fit; with Keras 3 installed, the same Keras script through fastmlp.keras and
through Keras on its JAX and PyTorch backends. Peers that are not installed are skipped. The
code lives in fastmlp.benchmark so that the installed `fastmlp bench` runs the same
measurements.
"""
import sys

from fastmlp.benchmark import main

if __name__ == "__main__":
    if "--contention" in sys.argv[1:]:
        import contention  # bench/contention.py, next to this file

        sys.exit(contention.main([a for a in sys.argv[1:] if a != "--contention"]))
    sys.exit(main(sys.argv[1:]))
