"""Same seed, same data => bit-identical weights, whatever the thread count."""
import numpy as np
import pytest

import fastmlp as fm


def _train(threads, seed=0, dtype="float32"):
    old = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(300, 20))
        y = rng.integers(0, 4, 300)
        m = fm.Sequential([fm.Standardize(), fm.Dense(300, activation="relu"), fm.BatchNorm(),
                           fm.Dropout(0.2), fm.GaussianNoise(0.1), fm.Dense(260, activation="gelu"),
                           fm.Dense(4)], input_dim=20, dtype=dtype, seed=seed)
        m.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-2), l2=1e-4)
        m.fit(X, y, epochs=3, batch_size=120, validation_split=0.2, verbose=0)
        return m.get_weights(), m.predict(X)
    finally:
        fm.set_num_threads(old)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_bit_identical_with_1_and_2_threads(dtype):
    w1, p1 = _train(1, dtype=dtype)
    w2, p2 = _train(2, dtype=dtype)
    w1b, _ = _train(1, dtype=dtype)
    for a, b, c in zip(w1, w2, w1b):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(p1, p2)


def test_different_seed_differs():
    w1, _ = _train(1, seed=0)
    w2, _ = _train(1, seed=1)
    assert not np.array_equal(w1[2], w2[2])


def test_seed_none_is_recorded():
    m = fm.Sequential([fm.Dense(2)], input_dim=3)
    again = fm.Sequential.from_config(m.get_config())
    np.testing.assert_array_equal(m.get_weights()[0], again.get_weights()[0])
