"""``import fastmlp.keras as keras``: MLP scripts in the style of the Keras guides, run with
only the import changed, plus the numbers where Keras' semantics are subtle (from_logits,
schedule steps, regularizer scaling, Keras' defaults) checked against float64 references, and
the clear errors for what is not supported."""
import numpy as np
import pytest

import fastmlp as fm
import fastmlp.keras as keras
from fastmlp.keras import layers

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)     # as the Keras guides start
X_CLS = RNG.normal(size=(300, 8)).astype("float32")
Y_CLS = (X_CLS[:, 0] > 0).astype(int) + (X_CLS[:, 1] > 0.5).astype(int)     # 3 classes
X_REG = RNG.normal(size=(200, 6)).astype("float32")
Y_REG = (X_REG @ RNG.normal(size=(6, 1)) + 0.1 * RNG.normal(size=(200, 1))).astype("float32")


# ---------------------------------------------------------------- the guide-style scripts

def test_script_01_mnist_style_mlp_with_softmax_and_sparse_ce():
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X_CLS, Y_CLS, batch_size=32, epochs=15, validation_split=0.1,
                        verbose=0)
    loss, acc = model.evaluate(X_CLS, Y_CLS, verbose=0)
    assert acc > 0.75 and loss < history.history["loss"][0]
    probs = model.predict(X_CLS[:5], verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_script_02_one_hot_targets_with_to_categorical():
    y = keras.utils.to_categorical(Y_CLS, num_classes=3)
    model = keras.Sequential()
    model.add(keras.Input(shape=(8,)))
    model.add(layers.Dense(32, activation="relu"))
    model.add(layers.Dense(3, activation="softmax"))
    assert len(model.layers[0].get_weights()) == 2          # built, as Keras builds it
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  metrics=["categorical_accuracy"])
    model.fit(x=X_CLS, y=y, epochs=10, batch_size=16, verbose=0)
    assert model.evaluate(X_CLS, y, verbose=0)[1] > 0.75


def test_script_03_binary_classifier_with_sigmoid_and_bce():
    y = (X_CLS[:, 0] + X_CLS[:, 2] > 0).astype("float32")
    model = keras.Sequential([
        layers.Dense(16, activation="relu", input_shape=(8,)),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-2),
                  loss=keras.losses.BinaryCrossentropy(), metrics=["binary_accuracy"])
    model.fit(X_CLS, y, epochs=10, batch_size=32, verbose=0)
    assert model.evaluate(X_CLS, y, verbose=0, return_dict=True)["binary_accuracy"] > 0.9
    p = model.predict(X_CLS, verbose=0)
    assert p.shape == (300, 1) and p.min() >= 0 and p.max() <= 1


def test_script_04_logits_with_from_logits_true():
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(32, activation="relu"),
                              layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    h = model.fit(X_CLS, Y_CLS, epochs=10, validation_data=(X_CLS[:50], Y_CLS[:50]), verbose=0)
    assert list(h.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                               "val_sparse_categorical_accuracy"]          # Keras' keys
    assert model.evaluate(X_CLS, Y_CLS, verbose=0)[1] > 0.75


def test_script_05_regression_with_normalization_and_mae():
    norm = layers.Normalization()
    norm.adapt(X_REG)
    model = keras.Sequential([keras.Input(shape=(6,)), norm,
                              layers.Dense(32, activation="relu"), layers.Dense(1)])
    model.compile(loss="mean_absolute_error", optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(X_REG, Y_REG, validation_split=0.2, epochs=20, verbose=0)
    assert history.history["val_loss"][-1] < 0.5 * history.history["val_loss"][0]
    mean, std = model.layers[0].get_weights()
    np.testing.assert_allclose(mean, X_REG.mean(0, dtype=np.float64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, X_REG.std(0, dtype=np.float64), rtol=1e-5)
    assert np.isscalar(model.evaluate(X_REG, Y_REG, verbose=0))


def test_script_06_regression_with_huber_and_metrics():
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(16, activation="tanh"),
                              layers.Dense(1)])
    model.compile(optimizer="sgd", loss=keras.losses.Huber(delta=0.5),
                  metrics=[keras.metrics.MeanAbsoluteError()])
    model.fit(X_REG, Y_REG, epochs=5, batch_size=20, verbose=0)
    loss, mae = model.evaluate(X_REG, Y_REG, verbose=0)
    d = np.abs(model.predict(X_REG, verbose=0).astype(np.float64) - Y_REG)
    np.testing.assert_allclose(mae, d.mean(), rtol=1e-5)
    np.testing.assert_allclose(loss, np.where(d <= 0.5, 0.5 * d * d, 0.5 * (d - 0.25)).mean(),
                               rtol=1e-5)


def test_script_07_batchnorm_and_l2_regularized_dense():
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3),
                     kernel_initializer=keras.initializers.HeNormal()),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X_CLS, Y_CLS, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(X_CLS, Y_CLS, verbose=0)[1] > 0.75
    bn = model.layers[1]
    assert isinstance(bn, fm.BatchNorm) and np.isclose(bn.momentum, 0.01) and bn.eps == 1e-3


def test_script_08_callbacks_early_stopping_and_checkpoint(tmp_path):
    path = str(tmp_path / "best.keras")
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"),
                              layers.GaussianNoise(0.1), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
                 keras.callbacks.ModelCheckpoint(path, save_best_only=True)]
    model.fit(X_CLS, Y_CLS, epochs=50, validation_split=0.2, callbacks=callbacks, verbose=0)
    best = keras.models.load_model(path)
    assert isinstance(best, keras.Sequential)
    assert best.predict(X_CLS[:3], verbose=0).shape == (3, 3)


def test_script_09_generator_with_steps_per_epoch():
    rng = np.random.default_rng(7)

    def batches(batch_size=32):
        while True:
            idx = rng.integers(0, len(X_CLS), batch_size)
            yield X_CLS[idx], Y_CLS[idx]

    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(32, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(batches(), steps_per_epoch=20, epochs=8, validation_data=batches(),
              validation_steps=3, verbose=0)
    assert model.evaluate(batches(), steps=5, verbose=0)[1] > 0.7
    assert model.predict(((X_CLS[i:i + 50],) for i in range(0, 300, 50)),
                         verbose=0).shape == (300, 3)


def test_script_10_learning_rate_schedule_and_save_load(tmp_path):
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=1e-2, decay_steps=10, decay_rate=0.9)
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(32, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_CLS, Y_CLS, epochs=3, batch_size=30, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(loaded.predict(X_CLS, verbose=0),
                                  model.predict(X_CLS, verbose=0))
    model.fit(X_CLS, Y_CLS, epochs=1, batch_size=30, verbose=0)
    loaded.fit(X_CLS, Y_CLS, epochs=1, batch_size=30, verbose=0)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    assert fm.load(tmp_path / "model.keras").loss == "cross_entropy"     # native reads it


def test_script_11_adamw_cosine_decay_and_class_weight():
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(32, activation="gelu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.AdamW(
        learning_rate=keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=100)),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_CLS, Y_CLS, epochs=10, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)
    assert model.evaluate(X_CLS, Y_CLS, verbose=0)[1] > 0.7


def test_script_12_pydataset_like_sequence_and_train_on_batch():
    class Data:                            # the shape of a keras.utils.PyDataset
        def __init__(self, batch_size=25):
            self.batch_size = batch_size

        def __len__(self):
            return len(X_CLS) // self.batch_size

        def __getitem__(self, i):
            s = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return X_CLS[s], Y_CLS[s]

    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(32, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(Data(), epochs=40, verbose=0)
    assert model.evaluate(Data(), verbose=0)[1] > 0.75
    assert np.isfinite(model.train_on_batch(X_CLS[:10], Y_CLS[:10]))
    model.summary(print_fn=lambda s: None)


# ---------------------------------------------------------------- Keras' numbers

def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_from_logits_true_and_false_give_keras_numbers():
    X, y = X_CLS[:50].astype(np.float64), Y_CLS[:50]
    probs = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(3, activation="softmax")],
                             dtype="float64", seed=0)
    probs.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    logits = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(3)], dtype="float64",
                              seed=0)
    logits.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   optimizer="sgd")
    W, b = probs.get_weights()
    p = _softmax(X @ W + b)
    ref = -np.log(p[np.arange(50), y]).mean()
    np.testing.assert_allclose(probs.evaluate(X, y, verbose=0), ref, rtol=1e-12)
    np.testing.assert_allclose(logits.evaluate(X, y, verbose=0), ref, rtol=1e-12)
    np.testing.assert_allclose(probs.predict(X, verbose=0), p, rtol=1e-12)
    np.testing.assert_allclose(logits.predict(X, verbose=0), X @ W + b, rtol=1e-12)
    with pytest.raises(ValueError, match="from_logits=True"):
        logits.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="twice"):
        probs.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def test_l2_regularizer_has_keras_scaling():
    X, Y = X_REG.astype(np.float64), Y_REG.astype(np.float64)
    model = keras.Sequential([keras.Input(shape=(6,)),
                              layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))],
                             dtype="float64", seed=0)
    model.compile(loss="mse", optimizer="sgd")
    W, b = model.get_weights()
    ref = ((X @ W + b - Y) ** 2).mean() + 0.01 * (W ** 2).sum()         # Keras' l2(0.01)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), ref, rtol=1e-12)
    both = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(
        1, kernel_regularizer=keras.regularizers.l1_l2(l1=0.02, l2=0.03))], dtype="float64",
        seed=0)
    both.compile(loss="mse", optimizer="sgd")
    ref = ((X @ W + b - Y) ** 2).mean() + 0.02 * np.abs(W).sum() + 0.03 * (W ** 2).sum()
    np.testing.assert_allclose(both.evaluate(X, Y, verbose=0), ref, rtol=1e-12)


def test_schedule_counts_optimizer_steps_as_keras():
    X, Y = X_REG[:40].astype(np.float64), Y_REG[:40].astype(np.float64)
    sched = keras.optimizers.schedules.PiecewiseConstantDecay([3], [0.05, 0.01])
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(1)], dtype="float64",
                             seed=0)
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=sched))
    W, b = model.get_weights()
    model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for step, i in enumerate(range(0, 40, 8)):        # steps 0..3 at 0.05, step 4 at 0.01
        g = 2 * (X[i:i + 8] @ W + b - Y[i:i + 8]) / 8
        lr = 0.05 if step <= 3 else 0.01
        W, b = W - lr * X[i:i + 8].T @ g, b - lr * g.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], W, rtol=1e-12)


def test_keras_defaults():
    adam = keras.optimizers.Adam()
    assert (adam.lr, adam.betas, adam.eps) == (0.001, (0.9, 0.999), 1e-7)
    rms = keras.optimizers.RMSprop()
    assert (rms.lr, rms.alpha, rms.eps) == (0.001, 0.9, 1e-7)
    assert keras.optimizers.SGD().lr == 0.01
    assert keras.optimizers.AdamW().weight_decay == 0.004
    assert keras.optimizers.Adam(weight_decay=0.01).core_dict(1e-3)["decoupled"]
    bn = layers.BatchNormalization()
    assert np.isclose(bn.momentum, 0.01) and bn.eps == 1e-3
    es = keras.callbacks.EarlyStopping()
    assert es.patience == 0 and es.restore_best_weights is False
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")     # optimizer: Keras' "rmsprop"
    assert isinstance(model.optimizer, fm.RMSprop) and model.optimizer.eps == 1e-7
    assert np.isscalar(model.evaluate(X_CLS, Y_CLS, verbose=0))   # no metrics: the loss
    assert set(model.evaluate(X_CLS, Y_CLS, return_dict=True)) == {"loss"}


def test_set_random_seed_makes_scripts_repeat():
    def run():
        keras.utils.set_random_seed(5)
        m = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, activation="relu"),
                              layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        m.fit(X_CLS, Y_CLS, epochs=2, verbose=0)
        return m.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_to_categorical():
    np.testing.assert_array_equal(keras.utils.to_categorical([2, 0, 1]),
                                  np.eye(3, dtype=np.float32)[[2, 0, 1]])
    assert keras.utils.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    with pytest.raises(ValueError, match="outside"):
        keras.utils.to_categorical([3], num_classes=3)


# ---------------------------------------------------------------- refused, clearly

@pytest.mark.parametrize("make,match", [
    (lambda: layers.Dense(3, bias_regularizer=keras.regularizers.l2()), "bias_regularizer"),
    (lambda: layers.Dense(3, activity_regularizer="l2"), "activity_regularizer"),
    (lambda: layers.Dense(3, kernel_constraint="max_norm"), "kernel_constraint"),
    (lambda: layers.Dense(3, bias_initializer="ones"), "bias_initializer"),
    (lambda: layers.BatchNormalization(center=False), "center"),
    (lambda: layers.Dropout(0.5, noise_shape=(None, 1)), "noise_shape"),
    (lambda: keras.optimizers.SGD(global_clipnorm=1.0), "global_clipnorm"),
    (lambda: keras.optimizers.Adam(clipnorm=1.0), "clipnorm"),
    (lambda: keras.optimizers.RMSprop(use_ema=True), "use_ema"),
    (lambda: keras.losses.CategoricalCrossentropy(label_smoothing=0.1), "label_smoothing"),
    (lambda: keras.losses.get("kl_divergence"), "kl_divergence"),
    (lambda: keras.optimizers.get("nadam"), "nadam"),
    (lambda: keras.Sequential([keras.Input(shape=(28, 28)), layers.Dense(3)]), "Flatten"),
    (lambda: keras.Input(shape=(0,)), "positive sizes"),
    (lambda: keras.optimizers.schedules.CosineDecay(0.1, 10, warmup_steps=5), "warmup"),
    (lambda: keras.callbacks.EarlyStopping(baseline=0.5), "baseline"),
    (lambda: keras.losses.MeanSquaredError(reduction="sum"), "reduction"),
])
def test_unsupported_keras_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_compile_refusals():
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile(loss="mse", loss_weights=[1.0])
    with pytest.raises(ValueError, match="needs a loss"):
        model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="mse"):
        model.compile(loss="mae", metrics=["mse"])


def test_saved_keras_models_are_native_files(tmp_path):
    norm = layers.Normalization()
    norm.adapt(X_REG)
    model = keras.Sequential([keras.Input(shape=(6,)), norm,
                              layers.Dense(8, activation="relu"), layers.BatchNormalization(),
                              layers.Dense(1)])
    model.compile(loss="huber", optimizer=keras.optimizers.Adam(weight_decay=0.01))
    model.fit(X_REG, Y_REG, epochs=2, verbose=0)
    model.save(tmp_path / "m.fm")
    native = fm.load(tmp_path / "m.fm")
    assert [type(layer).__name__ for layer in native.layers] == [
        "Standardize", "Dense", "BatchNorm", "Dense"]
    assert type(native.optimizer).__name__ == "AdamW"       # Keras 3's decoupled decay
    np.testing.assert_array_equal(native.predict(X_REG), model.predict(X_REG, verbose=0))
    back = keras.models.load_model(tmp_path / "m.fm")
    np.testing.assert_array_equal(back.predict(X_REG, verbose=0),
                                  model.predict(X_REG, verbose=0))
    # A native model loads into the namespace too, its softmax fused as compiled.
    clf = fm.Sequential([fm.Dense(3, activation="softmax")], input_dim=8, seed=0)
    clf.compile(loss="cross_entropy")
    clf.save(tmp_path / "c.fm")
    probs = keras.models.load_model(tmp_path / "c.fm").predict(X_CLS, verbose=0)
    np.testing.assert_allclose(probs, clf.predict(X_CLS), rtol=1e-6)
