"""int8 inference goals in one run (2 threads by default): predicting 60,000 rows of
784-256-128-10 with model.quantize("int8") against fastmlp float32 and ONNX Runtime's
quantize_dynamic of the float32 ONNX export, one-row latency against float32, and the int8
GEMM 1024x256x784 as a fraction of the vpdpbusd peak (fastmlp.benchmark_int8).

    PYTHONPATH=build/dev-NAME/pkg python bench/bench_int8.py [--threads 2] [--rows 60000]
"""
import argparse

import fastmlp as fm
from fastmlp.benchmark import make_data
from fastmlp.benchmark_int8 import gemm_fraction_of_peak, predict_comparison, report_lines


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    fm.set_num_threads(args.threads)
    X, y = make_data(args.rows, 784, 10)
    model = fm.Sequential([fm.Dense(256, activation="relu"), fm.Dense(128, activation="relu"),
                           fm.Dense(10)], input_dim=784, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-3))
    model.fit(X, y, epochs=1, batch_size=1024, verbose=0)
    result = predict_comparison(model, X, args.threads, repeats=args.repeats)
    gemm = gemm_fraction_of_peak(threads=args.threads)
    print(f"int8 path: {fm.build_info()['int8']}, {args.threads} threads")
    print("\n".join(report_lines(result, gemm, len(X))))


if __name__ == "__main__":
    main()
