"""Check back-propagation against central differences with fm.gradcheck.

Builds a small float64 network that uses every kind of layer with trainable parameters
(Standardize, Dense with L2, BatchNorm, a smooth activation, Dropout, which gradcheck turns
off) and compares model.gradients with numerical derivatives, array by array. A float64 model
must agree to better than 1e-7. Under a second.

    python examples/gradient_checking.py
"""
import numpy as np

import fastmlp as fm


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 6))
    y = rng.integers(0, 3, 32)

    model = fm.Sequential(
        [
            fm.Standardize(),
            # No bias before BatchNorm: BN subtracts the batch mean, so that bias would get an
            # exactly zero gradient (and a meaningless relative error).
            fm.Dense(8, init="glorot_normal", l2=1e-3, use_bias=False),
            fm.BatchNorm(),
            fm.Activation("tanh"),
            fm.Dropout(0.3),
            fm.Dense(5, activation="gelu"),
            fm.Dense(3),
        ],
        input_dim=6,
        dtype="float64",
        seed=0,
    )
    model.compile(loss="cross_entropy", optimizer=fm.SGD(lr=0.1))
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)  # move away from the initial point

    report = fm.gradcheck(model, X, y)
    # gradcheck subtracts the rounding noise of the finite differences, so 0 means "agrees to
    # within what central differences can measure".
    print(f"max relative error: {report.max_rel_error:.3e}")
    for name, err in zip(_names(report), report.per_array):
        print(f"  {name:>24}: {err:.3e}")
    verdict = "OK" if report.max_rel_error < 1e-7 else "MISMATCH"
    print(f"{verdict}: back-propagation {'matches' if verdict == 'OK' else 'differs from'} "
          "central differences")


def _names(report):
    names = list(getattr(report, "names", []) or [])
    return names if len(names) == len(report.per_array) else \
        [f"array {i}" for i in range(len(report.per_array))]


if __name__ == "__main__":
    main()
