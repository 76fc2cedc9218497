"""Every invalid argument is a ValueError or TypeError whose message names the argument."""
import numpy as np
import pytest

import fastmlp as fm


@pytest.mark.parametrize("make, arg", [
    (lambda: fm.Dense(0), "units"),
    (lambda: fm.Dense(-3), "units"),
    (lambda: fm.Dense(2.5), "units"),
    (lambda: fm.Dense(True), "units"),
    (lambda: fm.Dense(4, init="random"), "init"),
    (lambda: fm.Dense(4, activation="relu6"), "activation"),
    (lambda: fm.Dense(4, use_bias="yes"), "use_bias"),
    (lambda: fm.Dense(4, l2=-1.0), "l2"),
    (lambda: fm.Dense(4, l1="a"), "l1"),
    (lambda: fm.Dropout(1.0), "rate"),
    (lambda: fm.Dropout(-0.1), "rate"),
    (lambda: fm.Dropout(float("nan")), "rate"),
    (lambda: fm.BatchNorm(momentum=1.5), "momentum"),
    (lambda: fm.BatchNorm(eps=0.0), "eps"),
    (lambda: fm.GaussianNoise(-1.0), "stddev"),
    (lambda: fm.Activation("nope"), "name"),
    (lambda: fm.Activation("relu", alpha=0.1), "alpha"),
    (lambda: fm.LeakyReLU(alpha=-1.0), "alpha"),
    (lambda: fm.SGD(lr=0.0), "lr"),
    (lambda: fm.SGD(lr=-1.0), "lr"),
    (lambda: fm.SGD(momentum=-0.5), "momentum"),
    (lambda: fm.SGD(nesterov=True), "nesterov"),
    (lambda: fm.Adam(betas=(0.9, 1.0)), "betas"),
    (lambda: fm.Adam(betas=0.9), "betas"),
    (lambda: fm.Adam(eps=-1.0), "eps"),
    (lambda: fm.AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: fm.RMSprop(alpha=2.0), "alpha"),
    (lambda: fm.RMSprop(centered=1), "centered"),
    (lambda: fm.Sequential([fm.Dense(2)], input_dim=0), "input_dim"),
    (lambda: fm.Sequential([fm.Dense(2)], dtype="float16"), "dtype"),
    (lambda: fm.Sequential([fm.Dense(2)], seed=-1), "seed"),
    (lambda: fm.Sequential(fm.Dense(2)), "layers"),
    (lambda: fm.Sequential(["dense"]), "layers"),
    (lambda: fm.EarlyStopping(patience=-1), "patience"),
    (lambda: fm.EarlyStopping(mode="up"), "mode"),
    (lambda: fm.LearningRateScheduler(0.1), "schedule"),
])
def test_constructor_errors_name_the_argument(make, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        make()


def test_invalid_parameter_error_is_both_value_and_type_error():
    with pytest.raises(ValueError):
        fm.Dense(0)
    with pytest.raises(TypeError):
        fm.Dense("ten")


def test_standardize_must_be_first_and_layers_not_shared():
    with pytest.raises(ValueError, match="first"):
        fm.Sequential([fm.Dense(2), fm.Standardize()])
    d = fm.Dense(2)
    with pytest.raises(ValueError, match="twice"):
        fm.Sequential([d, d])


def _compiled(loss="cross_entropy", k=3, d=4):
    m = fm.Sequential([fm.Dense(5, activation="relu"), fm.Dense(k)], input_dim=d, seed=0)
    m.compile(loss=loss, optimizer=fm.SGD(lr=0.1))
    return m


def test_compile_errors():
    m = fm.Sequential([fm.Dense(3)], input_dim=2)
    with pytest.raises(ValueError, match="loss"):
        m.compile(loss="hinge")
    with pytest.raises(ValueError, match="optimizer"):
        m.compile(loss="mse", optimizer="lbfgs")
    with pytest.raises(ValueError, match="l2"):
        m.compile(loss="mse", l2=-1)
    for last, loss in [(fm.Dense(3, activation="softmax"), "cross_entropy"),
                       (fm.Softmax(), "cross_entropy"),
                       (fm.Dense(1, activation="sigmoid"), "binary_cross_entropy")]:
        layers = [fm.Dense(3), last] if isinstance(last, fm.Activation) else [last]
        # Keras' idiom: the final softmax/sigmoid is fused into the loss (the link)
        fm.Sequential(layers, input_dim=2).compile(loss=loss)
    with pytest.raises(ValueError, match="softmax"):
        fm.Sequential([fm.Dense(3, activation="softmax"), fm.Dropout(0.1)],
                      input_dim=2).compile(loss="cross_entropy")
    # allowed: sigmoid output with mse
    fm.Sequential([fm.Dense(1, activation="sigmoid")], input_dim=2).compile(loss="mse")


def test_fit_argument_errors():
    m = _compiled()
    X, y = np.zeros((10, 4)), np.zeros(10, dtype=int)
    for kw, arg in [(dict(batch_size=0), "batch_size"), (dict(epochs=-1), "epochs"),
                    (dict(validation_split=1.0), "validation_split"),
                    (dict(verbose=3), "verbose"), (dict(shuffle=None), "shuffle"),
                    (dict(augment=5), "augment"), (dict(callbacks=[1]), "callbacks"),
                    (dict(validation_data=(X,)), "validation_data")]:
        with pytest.raises((ValueError, TypeError), match=arg):
            m.fit(X, y, **{"verbose": 0, **kw})


def test_input_errors_name_x_or_y():
    m = _compiled()
    X, y = np.zeros((10, 4)), np.zeros(10, dtype=int)
    cases = [
        ((np.zeros((10, 3)), y), ValueError, "X has 3 features"),
        ((np.zeros(10), y), ValueError, "X must be 2-D"),
        ((np.zeros((0, 4)), y[:0]), ValueError, "X is empty"),
        ((np.full((10, 4), np.nan), y), ValueError, "X contains NaN"),
        ((np.full((10, 4), np.inf), y), ValueError, "X contains NaN or inf"),
        ((np.array([["a"] * 4] * 10), y), TypeError, "X must contain real numbers"),
        ((np.zeros((10, 4), dtype=object), y), TypeError, "X must contain real numbers"),
        ((np.zeros((10, 4), dtype=complex), y), TypeError, "X must contain real numbers"),
        (([[1, 2], [3]], y), ValueError, "X could not be converted"),
        ((X, np.zeros(9, dtype=int)), ValueError, "different numbers of samples"),
        ((X, np.full(10, 3)), ValueError, "labels outside the model's classes"),
        ((X, np.full(10, -1)), ValueError, "labels outside"),
        ((X, np.full(10, 0.5)), ValueError, "integers"),
        ((X, np.array(["a"] * 10)), TypeError, "y must contain numbers"),
        ((X, np.full(10, np.nan)), ValueError, "y contains NaN"),
        ((X, np.zeros((10, 2))), ValueError, "columns"),
        ((X, None), TypeError, "y"),
        ((None, y), TypeError, "X"),
    ]
    for (Xc, yc), exc, match in cases:
        with pytest.raises(exc, match=match):
            m.fit(Xc, yc, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="0/1"):
        _compiled("binary_cross_entropy", k=1).fit(X, np.full(10, 2.0), verbose=0)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\)"):
        _compiled("mse").fit(X, np.zeros(10), verbose=0)


def test_uncompiled_and_weights_errors():
    m = fm.Sequential([fm.Dense(2)], input_dim=3)
    X = np.zeros((2, 3))
    for call in (lambda: m.fit(X, [0, 1]), lambda: m.evaluate(X, [0, 1]),
                 lambda: m.train_on_batch(X, [0, 1]), lambda: m.gradients(X, [0, 1])):
        with pytest.raises(RuntimeError, match="compile"):
            call()
    with pytest.raises(ValueError, match="model has 2"):
        m.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"weights\[0\].*shape \(3, 2\)"):
        m.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"weights\[1\] contains NaN"):
        m.set_weights([np.zeros((3, 2)), np.full(2, np.nan)])
    with pytest.raises(ValueError, match="training"):
        m.predict(X, training="yes")


def test_models_larger_than_memory_are_refused_before_allocating():
    m = fm.Sequential([fm.Dense(2**31)], input_dim=64)      # 2**37 weights: 512 GiB in float32
    with pytest.raises(MemoryError, match="memory"):
        m.get_weights()
    with pytest.raises(MemoryError):
        fm.Sequential([fm.Dense(2**40)], input_dim=2**20).predict(np.zeros((1, 2**20)))


def test_sparse_input_is_a_type_error_with_a_hint():
    sparse = pytest.importorskip("scipy.sparse")
    m = _compiled()
    with pytest.raises(TypeError, match="toarray"):
        m.predict(sparse.csr_matrix(np.ones((3, 4))))
