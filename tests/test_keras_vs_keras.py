"""fastmlp.keras against real Keras 3 (JAX backend) where it is installed: the same script with
the same starting weights gives the same predictions, losses (from_logits, regularizers) and,
after training without shuffling, the same weights."""
import numpy as np
import pytest

from conftest import keras_on_jax

real = keras_on_jax()

import fastmlp.keras as fkeras  # noqa: E402

# Keras' own JAX code trips NumPy 2's __array__ copy deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 6)).astype("float32")
Y = RNG.integers(0, 3, 64)
YR = RNG.normal(size=(64, 2)).astype("float32")


def _pair(build, compile_kw):
    """(fastmlp.keras model, keras model) built by ``build(namespace)``, compiled alike, the
    Keras model given fastmlp's starting weights."""
    fkeras.utils.set_random_seed(0)
    ours = build(fkeras)
    theirs = build(real)
    theirs.set_weights(ours.get_weights())
    ours.compile(**compile_kw(fkeras))
    theirs.compile(**compile_kw(real))
    return ours, theirs


def _mlp(out, act, reg=None):
    def build(k):
        return k.Sequential([k.Input(shape=(6,)),
                             k.layers.Dense(8, activation="tanh", kernel_regularizer=reg and
                                            k.regularizers.l2(reg)),
                             k.layers.Dense(out, activation=act)])
    return build


@pytest.mark.parametrize("case", ["softmax", "logits", "sigmoid", "mae", "huber", "l2"])
def test_predict_and_evaluate_match_keras(case):
    if case == "softmax":
        build, loss = _mlp(3, "softmax"), lambda k: "sparse_categorical_crossentropy"
    elif case == "logits":
        build = _mlp(3, None)
        loss = lambda k: k.losses.SparseCategoricalCrossentropy(from_logits=True)  # noqa
    elif case == "sigmoid":
        build, loss = _mlp(2, "sigmoid"), lambda k: "binary_crossentropy"
    elif case == "mae":
        build, loss = _mlp(2, None), lambda k: "mae"
    elif case == "huber":
        build, loss = _mlp(2, None), lambda k: k.losses.Huber(delta=0.3)
    else:
        build, loss = _mlp(3, "softmax", reg=0.05), lambda k: "sparse_categorical_crossentropy"
    y = (YR > 0).astype("float32") if case == "sigmoid" else YR if case in ("mae", "huber") \
        else Y
    ours, theirs = _pair(build, lambda k: {"optimizer": "sgd", "loss": loss(k)})
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(X, y, verbose=0), theirs.evaluate(X, y, verbose=0),
                               rtol=2e-5)


_OPTIMIZERS = {
    "sgd": lambda k: k.optimizers.SGD(0.1),
    "sgd_momentum": lambda k: k.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov_decay": lambda k: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True,
                                                     weight_decay=0.1),
    # the rate enters Keras' velocity, not torch's buffer: differs under a schedule
    "sgd_momentum_schedule": lambda k: k.optimizers.SGD(
        k.optimizers.schedules.ExponentialDecay(0.2, decay_steps=2, decay_rate=0.5),
        momentum=0.9),
    "exp_decay": lambda k: k.optimizers.SGD(k.optimizers.schedules.ExponentialDecay(
        0.2, decay_steps=2, decay_rate=0.5)),
    # epsilon large enough to matter: inside the square root in Keras
    "rmsprop": lambda k: k.optimizers.RMSprop(1e-2, epsilon=1e-2),
    "rmsprop_centered_momentum": lambda k: k.optimizers.RMSprop(
        1e-2, rho=0.8, momentum=0.5, centered=True, epsilon=1e-3, weight_decay=0.05),
    # epsilon added to the uncorrected sqrt(v) in Keras
    "adam": lambda k: k.optimizers.Adam(1e-2, epsilon=1e-2),
    "adam_amsgrad": lambda k: k.optimizers.Adam(1e-2, beta_2=0.9, amsgrad=True, epsilon=1e-3),
    "adamw": lambda k: k.optimizers.AdamW(1e-2, weight_decay=0.1),
}


def _mlp_bn(k):
    return k.Sequential([k.Input(shape=(6,)), k.layers.Dense(8, activation="tanh"),
                         k.layers.BatchNormalization(momentum=0.8),
                         k.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("opt", sorted(_OPTIMIZERS))
def test_training_matches_keras(opt):
    """Keras' update rules (the engine's rule='keras'): same weights after 12 steps."""
    ours, theirs = _pair(_mlp(3, "softmax", reg=0.01), lambda k: {
        "optimizer": _OPTIMIZERS[opt](k), "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"]})
    h1 = ours.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)


@pytest.mark.parametrize("opt", ["sgd_momentum", "adam"])
def test_batch_normalization_matches_keras(opt):
    """Keras' moving statistics: momentum the weight of the old value, the moving variance
    from the biased batch variance (batch 5: a factor 5/4 on torch's)."""
    ours, theirs = _pair(_mlp_bn, lambda k: {"optimizer": _OPTIMIZERS[opt](k),
                                             "loss": "sparse_categorical_crossentropy"})
    ours.fit(X[:20], Y[:20], batch_size=5, epochs=2, shuffle=False, verbose=0)
    theirs.fit(X[:20], Y[:20], batch_size=5, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_keras_own_file_is_refused_clearly(tmp_path):
    model = _mlp(3, "softmax")(real)
    path = tmp_path / "model.keras"
    model.save(path)
    with pytest.raises(ValueError, match="Keras .keras archive.*set_weights"):
        fkeras.models.load_model(path)


def test_learning_rate_after_a_schedule_matches_keras():
    ours, theirs = _pair(_mlp(3, "softmax"), lambda k: {
        "optimizer": k.optimizers.SGD(k.optimizers.schedules.ExponentialDecay(0.2, 3, 0.5)),
        "loss": "sparse_categorical_crossentropy"})
    ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    theirs.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours.optimizer.learning_rate,
                               float(np.asarray(theirs.optimizer.learning_rate)), rtol=1e-6)
