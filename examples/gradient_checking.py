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
            fm.Dense(8, init="glorot_normal", l2=1e-3),
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
    print(f"max relative error: {report.max_rel_error:.3e}")
    for name, err in _items(report.per_array):
        print(f"  {name:>12}: {err:.3e}")
    verdict = "OK" if report.max_rel_error < 1e-7 else "MISMATCH"
    print(f"{verdict}: back-propagation {'matches' if verdict == 'OK' else 'differs from'} "
          "central differences")


def _items(per_array):
    # per_array may be a list (get_weights order) or a dict keyed by array name.
    if isinstance(per_array, dict):
        return list(per_array.items())
    return [(f"array {i}", e) for i, e in enumerate(per_array)]


if __name__ == "__main__":
    main()
