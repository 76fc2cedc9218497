"""The classic lecture examples: a hand-computed forward pass, XOR, and why initialization
matters in deep ReLU nets."""
import numpy as np
import pytest

import fastmlp as fm


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_three_layer_sigmoid_forward_pass(dtype):
    # Rows = units in the lecture's notation; our W is (in, units): the transpose.
    Ws = [np.array([[1, -2], [-1, 1]]), np.array([[2, -1], [-2, -1]]),
          np.array([[3, -1], [-1, 4]])]
    bs = [np.array([1, 0]), np.array([0, 0]), np.array([-2, 2])]
    m = fm.Sequential([fm.Dense(2, activation="sigmoid") for _ in range(3)], input_dim=2,
                      dtype=dtype)
    m.set_weights([a for W, b in zip(Ws, bs) for a in (W.T, b)])
    out = m.predict([[1, -1], [0, 0]])
    np.testing.assert_allclose(out, [[0.62, 0.83], [0.51, 0.85]], atol=0.005)
    # mse applies no link either
    m.compile(loss="mse", optimizer="sgd")
    np.testing.assert_allclose(m.predict([[1, -1], [0, 0]]), out, rtol=1e-6)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def _fit_xor(activation, seed):
    m = fm.Sequential([fm.Dense(8, activation=activation), fm.Dense(8, activation=activation),
                       fm.Dense(1)], input_dim=2, dtype="float64", seed=seed)
    m.compile(loss="binary_cross_entropy", optimizer=fm.Adam(lr=0.05))
    m.fit(XOR_X, XOR_Y, epochs=300, batch_size=4, verbose=0)
    return m.evaluate(XOR_X, XOR_Y)["accuracy"]


def test_linear_net_cannot_learn_xor_but_tanh_can():
    # A stack of linear layers is one linear map: at most 3 of the 4 XOR points right.
    assert all(_fit_xor("linear", s) <= 0.75 for s in range(3))
    assert max(_fit_xor("tanh", s) for s in range(3)) == 1.0


def _deep_activations(init):
    m = fm.Sequential([fm.Dense(100, activation="relu", init=init) for _ in range(20)],
                      input_dim=100, dtype="float64", seed=0)
    X = np.random.default_rng(0).normal(size=(200, 100))
    return m.predict(X).std()


def test_he_init_keeps_deep_relu_activations_alive():
    he = _deep_activations("he_normal")
    small = _deep_activations("small_normal")
    assert 0.1 < he < 10.0            # variance roughly preserved through 20 layers
    assert small < 1e-20              # 0.01 * N(0, 1): shrinks ~14x per layer, vanishes
