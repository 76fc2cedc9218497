"""Peak memory of fastmlp.sklearn on a large sparse matrix: trained and predicted from CSR
without ever densifying it whole.

Builds a CSR matrix (default 200,000 x 50,000 at 0.1% density, float32: a dense copy would
take 40 GB) straight from random indices, then fits ``MLPClassifier`` for one epoch and
predicts all rows, reporting each step's peak resident memory above what was resident before
it (Linux: ``/proc/self/clear_refs`` resets the high-water mark) next to the size of the
sparse data and of one dense batch.

    python bench/bench_sparse_memory.py [--rows 200000] [--cols 50000] [--density 0.001]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from fastmlp.benchmark import PeakRSS
from fastmlp.sklearn import MLPClassifier


def random_csr(rows, cols, density, seed=0):
    """A CSR matrix with ``density * cols`` entries per row, built without a dense step."""
    rng = np.random.default_rng(seed)
    per_row = max(1, int(round(density * cols)))
    indices = np.sort(rng.integers(0, cols, size=(rows, per_row), dtype=np.int32), axis=1)
    data = rng.random(rows * per_row, dtype=np.float32)
    indptr = np.arange(0, rows * per_row + 1, per_row, dtype=np.int64)
    X = sp.csr_matrix((data, indices.ravel(), indptr), shape=(rows, cols))
    w = rng.normal(size=cols).astype(np.float32)
    y = (X @ w > 0).astype(np.int64)
    return X, y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--cols", type=int, default=50_000)
    ap.add_argument("--density", type=float, default=0.001)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=200)
    args = ap.parse_args(argv)

    X, y = random_csr(args.rows, args.cols, args.density)
    mib = 1 / 2**20
    sparse_mib = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) * mib
    batch_mib = args.batch_size * args.cols * 4 * mib
    print(f"X: {args.rows} x {args.cols} CSR float32, nnz {X.nnz:,}: sparse data "
          f"{sparse_mib:.0f} MiB (dense would be {args.rows * args.cols * 4 * mib:,.0f} MiB); "
          f"one dense batch of {args.batch_size} rows {batch_mib:.0f} MiB")
    est = MLPClassifier(hidden_layer_sizes=(args.hidden,), max_iter=1,
                        batch_size=args.batch_size, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        with PeakRSS() as fit_peak:
            est.fit(X, y)
        t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    with PeakRSS() as predict_peak:
        pred = est.predict(X)
    t_pred = time.perf_counter() - t0
    print(f"fit 1 epoch: {t_fit:.1f} s, peak above start {fit_peak.mib:.0f} MiB "
          f"({fit_peak.mib / batch_mib:.1f} dense batches); train accuracy "
          f"{(pred == y).mean():.3f}")
    print(f"predict: {t_pred:.1f} s, peak above start {predict_peak.mib:.0f} MiB")


if __name__ == "__main__":
    main()
