"""mixed_bfloat16 keeps packed bf16 copies of the Dense weights between calls: the numbers
equal those of packing W in every GEMM bit for bit (training and predict, one row to many),
and every way the weights change (set_weights, a held view, an optimizer step, rollback,
load) is seen by the next predict."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import ops


def model(seed=0, d=37, hidden=(70, 33), k=5, prepack=True):
    layers = [fm.Dense(h, activation="relu") for h in hidden] + [fm.Dense(k)]
    m = fm.Sequential(layers, input_dim=d, dtype="mixed_bfloat16", seed=seed)
    m.compile("cross_entropy", fm.Adam(lr=1e-2))
    m._net.bf16_prepack = prepack
    return m


def data(n=300, d=37, k=5, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, rng.integers(0, k, n)


def test_training_and_predict_equal_packing_in_every_gemm_bitwise():
    X, y = data()
    a, b = model(prepack=True), model(prepack=False)
    for m in (a, b):
        m.fit(X, y, epochs=2, batch_size=64, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    for rows in (1, 2, 5, 7, 300):
        np.testing.assert_array_equal(a.predict(X[:rows]), b.predict(X[:rows]))


@pytest.mark.parametrize("rows", [1, 3, 6, 13])
def test_few_rows_equal_rows_of_a_batched_product_bitwise(rows):
    rng = np.random.default_rng(rows)
    A = rng.standard_normal((40, 301)).astype(np.float32)
    B = rng.standard_normal((301, 150)).astype(np.float32)
    full = ops.gemm(A, B, precision="bf16", activation="relu", bias=np.ones(150, np.float32))
    part = ops.gemm(A[:rows], B, precision="bf16", activation="relu",
                    bias=np.ones(150, np.float32))
    np.testing.assert_array_equal(part, full[:rows])


def test_set_weights_after_predict_changes_the_result():
    X, _ = data(n=20)
    a, b = model(seed=0), model(seed=1)
    before = a.predict(X)
    a.set_weights(b.get_weights())
    after = a.predict(X)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, b.predict(X))
    np.testing.assert_array_equal(a.predict(X[:1]), b.predict(X[:1]))
    a.layers[0].set_weights([w * 0.5 for w in a.layers[0].get_weights()])
    c = model(prepack=False)
    c.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(X), c.predict(X))


def test_a_held_view_written_between_predicts_is_seen():
    X, _ = data(n=9)
    a = model()
    views = a._net.params()
    first = a.predict(X)
    views[0][...] *= -1.0  # written while the copies exist
    second = a.predict(X)
    assert not np.array_equal(first, second)
    del views  # closed after the write: still seen, and the copies are reused after
    ref = model(prepack=False)
    ref.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(X), ref.predict(X))
    np.testing.assert_array_equal(a.predict(X), second)


def test_train_batch_rollback_and_load_are_seen(tmp_path):
    X, y = data()
    a = model()
    a._net.checkpoint()
    start = a.predict(X[:4])
    a.train_on_batch(X[:64], y[:64])
    trained = a.predict(X[:4])
    assert not np.array_equal(start, trained)
    a._net.rollback()
    np.testing.assert_array_equal(a.predict(X[:4]), start)
    b = model(seed=3)
    b.fit(X, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "m.fmlp"
    b.save(path)
    before = a.predict(X[:4])
    a = fm.load(path)  # the loaded model predicts with its own weights (none stale)
    assert not np.array_equal(before, a.predict(X[:4]))
    np.testing.assert_array_equal(a.predict(X[:4]), b.predict(X[:4]))


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_nan_in_a_late_block_of_a_long_predict_names_its_place(policy):
    # predict checks X block by block as it runs: a bad value far from the start is still
    # a ValueError naming its first place, and good inputs predict as before
    m = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(3)], input_dim=6,
                      dtype=policy, seed=0)
    X = np.random.default_rng(0).standard_normal((1300, 6)).astype(np.float32)
    good = m.predict(X)
    np.testing.assert_array_equal(good[1000:1001], m.predict(X[1000:1001]))
    bad = X.copy()
    bad[1203, 5], bad[1250, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at index "
                                         r"\(1203, 5\)\)"):
        m.predict(bad)
    bad[1203, 5] = 1.0
    with pytest.raises(ValueError, match=r"\(1250, 0\)"):
        m.predict(bad)
    with pytest.raises(ValueError, match=r"\(0, 0\)"):
        m.predict(bad[1250:1252])  # one block


@pytest.mark.parametrize("d, batch, threads", [(37, 64, 1), (37, 33, 2), (1, 7, 2), (130, 250, 3),
                                               (16, 1, 1)])
def test_shuffled_batches_rounded_while_gathered_equal_packing_the_float_batch(d, batch, threads):
    """A shuffled batch feeding a Dense first is rounded to bf16 once while it is gathered
    (odd feature counts and odd batches pair their last step with zero); the weights equal
    those of the GEMMs rounding the float batch themselves, bit for bit, at any thread count."""
    before = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        X, y = data(n=301, d=d)
        X[5, 0], X[9, -1] = 1e-40, -3e38  # a denormal and a large value
        a, b = model(d=d, prepack=True), model(d=d, prepack=False)
        for m in (a, b):
            m.fit(X, y, epochs=2, batch_size=batch, shuffle=True, verbose=0)
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)
    finally:
        fm.set_num_threads(before)


def test_rounded_gather_only_feeds_a_dense_first():
    """Dropout or BatchNorm first read the float batch: training still equals the no-copy run."""
    X, y = data()
    for make_first in (lambda: fm.Dropout(0.1), fm.BatchNorm):
        ms = []
        for prepack in (True, False):
            m = fm.Sequential([make_first(), fm.Dense(20, activation="relu"), fm.Dense(5)],
                              input_dim=37, dtype="mixed_bfloat16", seed=3)
            m.compile("cross_entropy", fm.Adam(lr=1e-2))
            m._net.bf16_prepack = prepack
            m.fit(X, y, epochs=1, batch_size=32, verbose=0)
            ms.append(m)
        for wa, wb in zip(ms[0].get_weights(), ms[1].get_weights()):
            np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "linear", "gelu"])
@pytest.mark.parametrize("batch, threads", [(777, 2), (33, 1), (64, 3)])
def test_fused_gradient_pass_equals_act_bwd_colsum_and_packing(act, batch, threads):
    """With packed weights on, a Dense layer's dZ, db and dZ's packed copy for dW come from one
    pass (relu, leaky_relu and linear; other activations keep act_bwd): the weights equal those
    of act_bwd, colsum and the dW product packing dZ itself, bit for bit. 777 rows split into
    three slabs of 260, 260 and 257 (an odd last pair); 37 and 5 columns end mid-vector; one
    layer without a bias."""
    before = fm.get_num_threads()
    fm.set_num_threads(threads)
    try:
        X, y = data(n=1600, d=23)
        ms = []
        for prepack in (True, False):
            first = {"name": act, "alpha": 0.3} if act == "leaky_relu" else act
            m = fm.Sequential([fm.Dense(37, activation=first),
                               fm.Dense(20, activation="relu", use_bias=False), fm.Dense(5)],
                              input_dim=23, dtype="mixed_bfloat16", seed=4)
            m.compile("cross_entropy", fm.Adam(lr=1e-2))
            m._net.bf16_prepack = prepack
            m.fit(X, y, epochs=2, batch_size=batch, verbose=0)
            ms.append(m)
        for wa, wb in zip(ms[0].get_weights(), ms[1].get_weights()):
            np.testing.assert_array_equal(wa, wb)
    finally:
        fm.set_num_threads(before)
