"""fastmlp.keras against real Keras 3 (JAX backend) where it is installed: the same script with
the same starting weights gives the same predictions, losses (from_logits, regularizers) and,
after training without shuffling, the same weights."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
real = pytest.importorskip("keras")
if real.backend.backend() != "jax":
    pytest.skip("these comparisons run on Keras' JAX backend", allow_module_level=True)

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


@pytest.mark.parametrize("opt", ["sgd", "sgd_momentum", "adam", "rmsprop", "adamw",
                                 "exp_decay"])
def test_training_matches_keras(opt):
    def optimizer(k):
        return {"sgd": lambda: k.optimizers.SGD(0.1),
                "sgd_momentum": lambda: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                "adam": lambda: k.optimizers.Adam(1e-2),
                "rmsprop": lambda: k.optimizers.RMSprop(1e-2),
                "adamw": lambda: k.optimizers.AdamW(1e-2, weight_decay=0.1),
                "exp_decay": lambda: k.optimizers.SGD(k.optimizers.schedules.ExponentialDecay(
                    0.2, decay_steps=2, decay_rate=0.5))}[opt]()

    ours, theirs = _pair(_mlp(3, "softmax", reg=0.01), lambda k: {
        "optimizer": optimizer(k), "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"]})
    h1 = ours.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    # RMSprop's epsilon sits inside the square root in Keras, outside in the engine; Adam's is
    # scaled by sqrt(1 - beta_2**t) in Keras: both matter where gradients are tiny.
    tol = {"rmsprop": dict(rtol=0.05, atol=3e-2),
           "adam": dict(rtol=2e-3, atol=3e-4), "adamw": dict(rtol=2e-3, atol=3e-4)}.get(
        opt, dict(rtol=2e-4, atol=2e-5))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-3)
