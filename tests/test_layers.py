"""Layer descriptions: configs, engine dicts, shapes, initializers."""
import json
import warnings

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.initializers import INITIALIZERS, initialize
from fastmlp.layers import LAYERS

ALL_LAYERS = [fm.Dense(3, activation="leaky_relu", init="he_normal", use_bias=False, l1=0.1),
              fm.Dense(2, activation=fm.LeakyReLU(0.2)), fm.Activation("elu", alpha=0.5),
              fm.ReLU(), fm.LeakyReLU(0.3), fm.Sigmoid(), fm.Tanh(), fm.Softplus(), fm.Softmax(),
              fm.ELU(), fm.GELU(), fm.SiLU(), fm.Activation("swish"), fm.Dropout(0.25),
              fm.BatchNorm(momentum=0.2, eps=1e-3), fm.GaussianNoise(0.1), fm.Standardize()]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda layer: repr(layer))
def test_config_roundtrip_is_json(layer):
    cfg = json.loads(json.dumps(layer.get_config()))
    again = LAYERS[type(layer).__name__].from_config(cfg)
    assert again.get_config() == layer.get_config()
    assert again.core_dict() == layer.core_dict()


def test_core_dicts():
    assert fm.Dense(3, activation="swish").core_dict() == {
        "kind": "dense", "units": 3, "use_bias": True, "activation": "silu", "alpha": 0.0,
        "l1": None, "l2": None}
    assert fm.Dense(2, activation=fm.LeakyReLU(0.2)).core_dict()["alpha"] == 0.2
    assert fm.Dense(2, activation="elu").core_dict()["alpha"] == 1.0
    assert fm.LeakyReLU().core_dict() == {"kind": "activation", "name": "leaky_relu",
                                          "alpha": 0.01}
    assert fm.Dropout(0.5).core_dict() == {"kind": "dropout", "rate": 0.5}
    assert fm.BatchNorm().core_dict() == {"kind": "batchnorm", "momentum": 0.1, "eps": 1e-5}
    assert fm.GaussianNoise(0.3).core_dict() == {"kind": "noise", "stddev": 0.3}
    assert fm.Standardize().core_dict() == {"kind": "standardize"}


def test_param_specs():
    assert fm.Dense(4).param_specs(3) == [("W", (3, 4), True), ("b", (4,), True)]
    assert fm.Dense(4, use_bias=False).param_specs(3) == [("W", (3, 4), True)]
    assert [t for _, _, t in fm.BatchNorm().param_specs(5)] == [True, True, False, False]
    assert fm.Standardize().param_specs(2)[1] == ("std", (2,), False)


@pytest.mark.parametrize("name", sorted(set(INITIALIZERS) - {"zeros"}))
def test_initializer_statistics(name):
    rng = np.random.default_rng(0)
    fan_in, fan_out = 400, 300
    W = initialize(name, rng, fan_in, fan_out)
    expect_std = {"small_normal": 0.01, "glorot_uniform": np.sqrt(2 / (fan_in + fan_out)),
                  "glorot_normal": np.sqrt(2 / (fan_in + fan_out)),
                  "he_uniform": np.sqrt(2 / fan_in), "he_normal": np.sqrt(2 / fan_in),
                  "lecun_normal": np.sqrt(1 / fan_in)}[name]
    assert W.shape == (fan_in, fan_out)
    assert abs(W.mean()) < 0.05 * expect_std
    assert W.std() == pytest.approx(expect_std, rel=0.02)


def test_zeros_init_warns_about_symmetry():
    with pytest.warns(fm.SymmetryWarning, match="identical"):
        initialize("zeros", np.random.default_rng(0), 3, 4)
    assert issubclass(fm.SymmetryWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initialize("zeros", np.random.default_rng(0), 3, 1)   # a single unit: nothing to break


def test_layers_pickle_and_copy_after_build():
    import copy
    import pickle

    m = fm.Sequential([fm.Dense(3), fm.Dropout(0.5)], input_dim=2, seed=0)
    m.build()
    for layer in m.layers:
        again = pickle.loads(pickle.dumps(layer))
        assert again.get_config() == layer.get_config() and again.get_weights() == []
        assert copy.deepcopy(layer).get_config() == layer.get_config()


def test_batchnorm_keras_style_momentum_warns():
    with pytest.warns(UserWarning, match=r"Keras' momentum=0.99 is momentum=0.01 here"):
        bn = fm.BatchNorm(momentum=0.99)
    assert bn.momentum == 0.99          # kept as given: it is a valid PyTorch momentum
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fm.BatchNorm(momentum=0.5)      # up to 0.5: no warning


def test_dense_accepts_keras_spellings():
    m = fm.Sequential([fm.Dense(8, activation="relu", input_shape=(5,),
                                kernel_initializer="he_normal"), fm.Dense(2)], seed=0)
    assert m.input_dim == 5 and m.layers[0].init == "he_normal"
    assert m.predict(np.ones((3, 5))).shape == (3, 2)
    keras_style = fm.Sequential(seed=1)
    keras_style.add(fm.Standardize())
    keras_style.add(fm.Dense(4, input_dim=7))
    assert keras_style.input_dim == 7
    # the same model built the fastmlp way has the same weights
    plain = fm.Sequential([fm.Dense(8, activation="relu", init="he_normal"), fm.Dense(2)],
                          input_dim=5, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), plain.get_weights()))
    assert m.get_config() == plain.get_config()
    with pytest.raises(ValueError, match="input_shape must be"):
        fm.Dense(3, input_shape=(4, 4))
    with pytest.raises(ValueError, match="disagree"):
        fm.Dense(3, input_dim=3, input_shape=(4,))
    with pytest.raises(ValueError, match="input_dim"):
        fm.Dense(3, input_dim=0)
    with pytest.raises(ValueError, match="give one"):
        fm.Dense(3, init="zeros", kernel_initializer="he_normal")
    with pytest.raises(ValueError, match="first Dense"):
        fm.Sequential([fm.Dense(3), fm.Dense(2, input_dim=3)])
    with pytest.raises(ValueError, match="differs"):
        fm.Sequential([fm.Dense(3, input_dim=4)], input_dim=5)
