"""gradcheck and diagnose."""
import numpy as np
import pytest

import fastmlp as fm


def test_diagnose_four_cases():
    assert "High variance" in fm.diagnose(0.01, 0.11)
    assert "High bias" in fm.diagnose(0.15, 0.16)
    both = fm.diagnose(0.15, 0.30)
    assert "High bias and high variance" in both
    assert "Fine" in fm.diagnose(0.005, 0.01)
    # Relative to a baseline (human-level) error: 15% train vs 14% baseline is fine.
    assert "Fine" in fm.diagnose(0.15, 0.16, baseline_error=0.14)
    assert "High variance" in fm.diagnose(1.0, 11.0)     # percents


def test_diagnose_suggests_next_steps_and_validates():
    assert "bigger network" in fm.diagnose(0.2, 0.21)
    assert "regularization" in fm.diagnose(0.0, 0.2)
    with pytest.raises(ValueError, match="dev_error"):
        fm.diagnose(0.1, float("nan"))
    with pytest.raises(ValueError, match="train_error"):
        fm.diagnose(-0.1, 0.2)


def test_history_diagnose():
    h = fm.History()
    h.history = {"loss": [1.0], "accuracy": [0.99], "val_loss": [2.0], "val_accuracy": [0.8]}
    assert "High variance" in h.diagnose()
    h.history = {"loss": [1.0]}
    with pytest.raises(ValueError, match="validation"):
        h.diagnose()


def _small(loss, k, dtype="float64", extra=()):
    m = fm.Sequential([fm.Dense(5, activation="tanh"), *extra, fm.Dense(4, activation="gelu"),
                       fm.Dense(k)], input_dim=3, dtype=dtype, seed=2)
    return m


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "mse"])
def test_gradcheck_float64_below_1e7(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3))
    k = 3
    y = {"cross_entropy": rng.integers(0, k, 9),
         "binary_cross_entropy": rng.integers(0, 2, (9, k)).astype(float),
         "mse": rng.normal(size=(9, k))}[loss]
    m = _small(loss, k, extra=(fm.BatchNorm(), fm.Dropout(0.5)))
    m.compile(loss=loss, optimizer=fm.SGD(), l1=1e-3, l2=1e-2)
    before = m.get_weights()
    report = fm.gradcheck(m, X, y)
    assert report.max_rel_error < 1e-7, str(report)
    assert len(report.per_array) == len(m.gradients(X, y))
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)           # the model is untouched


def test_gradcheck_float32_model_checked_in_float64():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 3))
    m = _small("cross_entropy", 2, dtype="float32")
    m.compile(loss="cross_entropy", optimizer="sgd")
    assert fm.gradcheck(m, X, rng.integers(0, 2, 6)).max_rel_error < 1e-7


def test_gradcheck_detects_wrong_gradients(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 3))
    m = _small("mse", 1)
    m.compile(loss="mse", optimizer="sgd")
    orig = fm.Sequential._gradients
    monkeypatch.setattr(fm.Sequential, "_gradients",
                        lambda self, *a, **k: [g * 1.01 for g in orig(self, *a, **k)])
    assert fm.gradcheck(m, X, rng.normal(size=6)).max_rel_error > 1e-3
    with pytest.raises(ValueError, match="eps"):
        fm.gradcheck(m, X, rng.normal(size=6), eps=-1.0)


def test_gradcheck_with_callable_lr_and_standardize():
    rng = np.random.default_rng(3)
    X = rng.normal(2, 3, size=(7, 3))
    m = fm.Sequential([fm.Standardize(), fm.Dense(4, activation="sigmoid", l2=0.1), fm.Dense(2)],
                      input_dim=3, dtype="float64", seed=0)
    m.compile(loss="mse", optimizer=fm.SGD(lr=lambda e: 0.1))
    m.fit(X, rng.normal(size=(7, 2)), epochs=1, verbose=0)
    assert fm.gradcheck(m, X, rng.normal(size=(7, 2))).max_rel_error < 1e-7


def test_gradcheck_zero_gradient_bias_before_batchnorm():
    # The bias of a Dense right before BatchNorm has an exactly zero gradient; central
    # differences give rounding noise there, which must not count as a relative error of 1.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(9, 4))
    m = fm.Sequential([fm.Dense(6), fm.BatchNorm(), fm.Dense(2)], input_dim=4,
                      dtype="float64", seed=0)
    m.compile(loss="binary_cross_entropy", optimizer="sgd")
    report = fm.gradcheck(m, X, rng.integers(0, 2, (9, 2)))
    assert report.max_rel_error < 1e-7, str(report)
    assert np.abs(m.gradients(X, rng.integers(0, 2, (9, 2)))[1]).max() < 1e-12


def test_gradcheck_l1_weight_near_zero_and_tiny_gradients():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2, 1))
    m = fm.Sequential([fm.Dense(31), fm.Dense(1), fm.BatchNorm(), fm.Dense(1)], input_dim=1,
                      dtype="float64", seed=0)
    m.compile(loss="mse", optimizer="sgd", l1=0.0625)
    w = m.get_weights()
    w[0][0, 3] = 3e-5                 # within a default step of the L1 kink at 0
    m.set_weights(w)
    report = fm.gradcheck(m, X, rng.normal(size=(2, 1)))
    assert report.max_rel_error < 1e-7, str(report)
