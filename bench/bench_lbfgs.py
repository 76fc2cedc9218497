"""solver="lbfgs": fastmlp.sklearn vs scikit-learn, same data, same settings, same process.

Each case fits both estimators ``--repeats`` times, interleaved (fastmlp, scikit-learn,
fastmlp, ...), and reports the median fit time, the time ratio (scikit-learn / fastmlp) and
the test score (accuracy or R^2) of each. Both run L-BFGS-B from scipy for the same
``max_iter``; what differs is who computes the loss and gradient (fastmlp: one C++ call over
the whole set; scikit-learn: NumPy layer by layer). Threads: ``--threads`` for both
(fastmlp's pool; threadpoolctl for the BLAS under NumPy).

    python bench/bench_lbfgs.py [--repeats 5] [--threads 2] [--markdown]
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import fastmlp as fm
from fastmlp import sklearn as fm_sk


def _split(X, y, scale_y=False):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    sc = StandardScaler().fit(X_tr)
    if scale_y:
        mu, sd = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mu) / sd, (y_te - mu) / sd
    return sc.transform(X_tr), sc.transform(X_te), y_tr, y_te


def cases():
    """(name, estimator class name, data split, estimator parameters)."""
    out = [("digits (1797x64, 10 classes)", "MLPClassifier",
            _split(*load_digits(return_X_y=True)), dict(hidden_layer_sizes=(100,))),
           ("breast cancer (569x30, binary)", "MLPClassifier",
            _split(*load_breast_cancer(return_X_y=True)), dict(hidden_layer_sizes=(100,))),
           ("diabetes (442x10, regression)", "MLPRegressor",
            _split(*load_diabetes(return_X_y=True), scale_y=True),
            dict(hidden_layer_sizes=(100,), alpha=1.0))]
    X, y = make_regression(n_samples=4000, n_features=40, n_informative=20, noise=10.0,
                           random_state=0)
    out.append(("make_regression (4000x40, regression)", "MLPRegressor",
                _split(X, np.tanh(y / 100), scale_y=True), dict(hidden_layer_sizes=(100,))))
    return out


def _fit(cls, params, X, y):
    est = cls(solver="lbfgs", random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        return est, time.perf_counter() - t0


def run(repeats, threads, max_iter):
    from threadpoolctl import threadpool_limits
    fm.set_num_threads(threads)
    rows = []
    with threadpool_limits(threads):
        for name, cls_name, (X_tr, X_te, y_tr, y_te), params in cases():
            params = dict(params, max_iter=max_iter)
            times = {"fastmlp": [], "sklearn": []}
            ests = {}
            for _ in range(repeats):
                for lib, mod in (("fastmlp", fm_sk), ("sklearn", sk_nn)):
                    ests[lib], t = _fit(getattr(mod, cls_name), params, X_tr, y_tr)
                    times[lib].append(t)
            med = {lib: statistics.median(ts) for lib, ts in times.items()}
            rows.append(dict(case=name, max_iter=max_iter,
                             fm_time=med["fastmlp"], sk_time=med["sklearn"],
                             ratio=med["sklearn"] / med["fastmlp"],
                             fm_iter=ests["fastmlp"].n_iter_, sk_iter=ests["sklearn"].n_iter_,
                             fm_score=ests["fastmlp"].score(X_te, y_te),
                             sk_score=ests["sklearn"].score(X_te, y_te)))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rows = run(args.repeats, args.threads, args.max_iter)
    if args.markdown:
        print("| data set | max_iter | fastmlp s | scikit-learn s | speed-up | fastmlp score "
              "(iters) | scikit-learn score (iters) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print(f"| {r['case']} | {r['max_iter']} | {r['fm_time']:.3f} | {r['sk_time']:.3f} | "
                  f"{r['ratio']:.1f}x | {r['fm_score']:.4f} ({r['fm_iter']}) | "
                  f"{r['sk_score']:.4f} ({r['sk_iter']}) |")
        return
    for r in rows:
        print(f"{r['case']:42s} fastmlp {r['fm_time']:.3f}s  scikit-learn {r['sk_time']:.3f}s  "
              f"x{r['ratio']:.1f}  score {r['fm_score']:.4f} ({r['fm_iter']} it) vs "
              f"{r['sk_score']:.4f} ({r['sk_iter']} it)")


if __name__ == "__main__":
    main()
