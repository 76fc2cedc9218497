"""Typical Keras 3 MLP scripts, written once against a ``keras`` module and run unchanged with
real Keras (JAX backend) and with ``fastmlp.keras``: the same starting weights (Keras gets
fastmlp's through ``set_weights``) and no shuffling give the same histories, evaluations,
predictions and final weights. Dropout masks cannot match, so the script that uses it compares
what does not depend on them."""
import numpy as np
import pytest

from conftest import keras_on_jax

real = keras_on_jax()

import fastmlp.keras as fkeras  # noqa: E402

# Keras' own JAX code trips NumPy 2's __array__ copy deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RNG = np.random.default_rng(1)
X = RNG.normal(size=(200, 10)).astype("float32")
Y3 = (X[:, 0] + X[:, 1] > 0).astype("int64") + (X[:, 2] > 1)
YR = (X @ np.linspace(-1, 1, 10)[:, None]).astype("float32")
YB = (X[:, :3].sum(1) > 0).astype("float32")


def _both(build, run):
    """``run(keras, model)`` for both namespaces, Keras' model starting from fastmlp's
    weights: the two results."""
    fkeras.utils.set_random_seed(0)
    ours, theirs = build(fkeras), build(real)
    theirs.set_weights(ours.get_weights())
    return (run(fkeras, ours), ours), (run(real, theirs), theirs)


def _same_history(h1, h2, rtol=2e-5):
    assert sorted(h1.history) == sorted(h2.history)
    for key in h2.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=rtol, atol=1e-6,
                                   err_msg=key)


def _same_weights(m1, m2, tol=1e-5):
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---------------------------------------------------------------- scripts

def classifier(keras):
    return keras.Sequential([
        keras.Input(shape=(10,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(16, activation="relu",
                           kernel_regularizer=keras.regularizers.l2(1e-3)),
        keras.layers.Dense(3, activation="softmax"),
    ])


def train_classifier(keras, model):
    y = keras.utils.to_categorical(Y3, 3)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                               restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                   patience=1)]
    history = model.fit(X, y, batch_size=32, epochs=8, validation_split=0.2, shuffle=False,
                        callbacks=callbacks, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    return dict(history=history, logs=model.evaluate(X, y, verbose=0, return_dict=True),
                values=model.evaluate(X, y, verbose=0), probs=model.predict(X, verbose=0))


def regressor(keras):
    model = keras.Sequential()
    model.add(keras.layers.Dense(16, activation="tanh", input_shape=(10,)))
    model.add(keras.layers.Dense(1))
    return model


def train_regressor(keras, model):
    model.compile(optimizer=keras.optimizers.RMSprop(0.02), loss="mse", metrics=["mae"])
    # A dev set with the signs flipped: its loss rises, so the plateau callback cuts the rate.
    history = model.fit(X, YR, epochs=6, batch_size=16, validation_data=(X[:40], -YR[:40]),
                        shuffle=False, verbose=0, callbacks=[
                            keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)])
    return dict(history=history, values=model.evaluate(X, YR, verbose=0),
                pred=model.predict(X[:7], verbose=0),
                lr=float(np.asarray(model.optimizer.learning_rate)))


def weighted_binary(keras):
    return keras.Sequential([keras.Input(shape=(10,)),
                             keras.layers.Dense(8, activation="relu", name="hidden"),
                             keras.layers.Dense(1, activation="sigmoid", name="out")])


def train_weighted_binary(keras, model):
    w = np.linspace(0.2, 2.0, len(X)).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, YB, sample_weight=w, batch_size=25, epochs=4, shuffle=False,
                        verbose=0)
    return dict(history=history,
                logs=model.evaluate(X, YB, sample_weight=w, verbose=0, return_dict=True))


# ---------------------------------------------------------------- comparisons

def test_classifier_with_batchnorm_class_weight_split_and_callbacks():
    """BatchNormalization, l2, to_categorical, class_weight (training rows only),
    validation_split (the last rows), EarlyStopping + ReduceLROnPlateau (learning_rate in
    the history), evaluate as a dict and as a list, predict."""
    (r1, m1), (r2, m2) = _both(classifier, train_classifier)
    _same_history(r1["history"], r2["history"])
    assert r1["logs"].keys() == r2["logs"].keys() == {"loss", "accuracy"}
    np.testing.assert_allclose(list(r1["logs"].values()),
                               [r2["logs"][k] for k in r1["logs"]], rtol=1e-5)
    np.testing.assert_allclose(r1["values"], r2["values"], rtol=1e-5)
    np.testing.assert_allclose(r1["probs"], r2["probs"], rtol=1e-4, atol=1e-5)
    _same_weights(m1, m2, tol=2e-5)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")   # Keras' advice
def test_regressor_built_with_add_and_plateau_cuts():
    """add() with input_shape, RMSprop, mse with the mae metric, validation_data,
    ReduceLROnPlateau cutting the rate (the history's learning_rate and the optimizer's)."""
    (r1, m1), (r2, m2) = _both(regressor, train_regressor)
    assert len(set(r2["history"].history["learning_rate"])) > 1     # the rate was cut
    _same_history(r1["history"], r2["history"])
    np.testing.assert_allclose(r1["values"], r2["values"], rtol=1e-5)
    np.testing.assert_allclose(r1["pred"], r2["pred"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r1["lr"], r2["lr"], rtol=1e-6)
    _same_weights(m1, m2)


def test_sample_weights_weight_the_loss_not_the_metrics():
    """Keras' metrics= count every row once under sample weights; the loss is
    sum(w * loss) / n."""
    (r1, m1), (r2, m2) = _both(weighted_binary, train_weighted_binary)
    _same_history(r1["history"], r2["history"])
    for key, value in r2["logs"].items():
        np.testing.assert_allclose(r1["logs"][key], value, rtol=1e-5, err_msg=key)
    _same_weights(m1, m2)


def test_dropout_script_names_files_and_shapes(tmp_path):
    """What a Dropout script touches besides the random masks: layer names, get_layer,
    history keys and params, ModelCheckpoint (model and weights only), load_model,
    save_weights/load_weights, predict on lists, input/output shapes."""
    def build(keras):
        keras.utils.clear_session()
        return keras.Sequential([keras.Input(shape=(10,)), keras.layers.Dense(12, "relu"),
                                 keras.layers.Dropout(0.3), keras.layers.Dense(1, "sigmoid")])

    def run(keras, model):
        d = tmp_path / keras.__name__
        out = {"names": [layer.name for layer in model.layers],
               "hidden": model.get_layer("dense").get_weights()[0].shape,
               "shapes": (model.input_shape, model.output_shape),
               "before": model.predict(X[:5], verbose=0)}
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        out["eval_before"] = model.evaluate(X, YB, verbose=0)
        h = model.fit(X, YB, epochs=3, batch_size=20, validation_data=(X[:30], YB[:30]),
                      verbose=0, callbacks=[
                          keras.callbacks.ModelCheckpoint(str(d / "best.keras"),
                                                          save_best_only=True),
                          keras.callbacks.ModelCheckpoint(str(d / "last.weights.h5"),
                                                          save_weights_only=True)])
        out["keys"], out["params"] = sorted(h.history), {k: h.params[k] for k in
                                                         ("verbose", "epochs", "steps")}
        best = keras.models.load_model(str(d / "best.keras"))
        out["best_names"] = [layer.name for layer in best.layers]
        fresh = build(keras)
        fresh.load_weights(str(d / "last.weights.h5"))
        np.testing.assert_array_equal(fresh.predict(X, verbose=0), model.predict(X, verbose=0))
        return out

    (r1, _), (r2, _) = _both(build, run)
    for key in ("names", "hidden", "shapes", "keys", "params", "best_names"):
        assert r1[key] == r2[key], key
    np.testing.assert_allclose(r1["before"], r2["before"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r1["eval_before"], r2["eval_before"], rtol=1e-5)
    assert r1["names"] == ["dense", "dropout", "dense_1"]
    # fastmlp's list input (Keras 3 wants arrays)
    assert build(fkeras).predict(X[:2].tolist(), verbose=0).shape == (2, 1)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")   # Keras' advice
@pytest.mark.parametrize("first", ["flatten_input_shape", "input_then_flatten"])
def test_image_mlp_with_flatten_and_logits(first):
    """The beginner's MNIST MLP: Flatten(input_shape=(8, 8)) (or Input + Flatten), a
    logits output with SparseCategoricalCrossentropy(from_logits=True), validation_split."""
    images = np.random.default_rng(2).random((150, 8, 8)).astype("float32")
    labels = (images[:, :4].mean((1, 2)) > 0.5).astype("int64") + \
        (images[:, 4:].mean((1, 2)) > 0.5)

    def build(keras):
        head = [keras.layers.Flatten(input_shape=(8, 8))] if first == "flatten_input_shape" \
            else [keras.Input(shape=(8, 8)), keras.layers.Flatten()]
        return keras.Sequential(head + [keras.layers.Dense(32, activation="relu"),
                                        keras.layers.Dense(3)])

    def run(keras, model):
        model.compile(optimizer="adam", metrics=["accuracy"],
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(images, labels, epochs=3, batch_size=32, shuffle=False,
                            validation_split=0.1, verbose=0)
        return dict(history=history, values=model.evaluate(images, labels, verbose=0),
                    logits=model.predict(images[:4], verbose=0), shape=model.input_shape)

    (r1, m1), (r2, m2) = _both(build, run)
    _same_history(r1["history"], r2["history"])
    np.testing.assert_allclose(r1["values"], r2["values"], rtol=1e-5)
    np.testing.assert_allclose(r1["logits"], r2["logits"], rtol=1e-5, atol=1e-5)
    assert r1["shape"] == r2["shape"] == (None, 8, 8)
    _same_weights(m1, m2)
