"""fastmlp.keras layer and model names (Keras' automatic ones, name=, get_layer, summary) and
files (save/load_model keep names, Keras classes, metric names and Keras' update rules;
compile=False; save_weights/load_weights), without Keras installed."""
import pickle

import numpy as np
import pytest

import fastmlp as fm
import fastmlp.keras as keras
from fastmlp.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.utils.clear_session()
    yield
    keras.utils.clear_session()


def _data(n=40, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype("float32"), rng.integers(0, k, n)


def _model(**kw):
    return keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                             layers.BatchNormalization(), layers.Dropout(0.1),
                             layers.LeakyReLU(), layers.Dense(3, activation="softmax",
                                                              name="probs")], **kw)


def test_automatic_names_count_per_prefix_for_the_session():
    m1, m2 = _model(), _model()
    assert m1.name == "sequential" and m2.name == "sequential_1"
    assert [layer.name for layer in m1.layers] == ["dense", "batch_normalization", "dropout",
                                                   "leaky_re_lu", "probs"]
    assert [layer.name for layer in m2.layers] == ["dense_1", "batch_normalization_1",
                                                   "dropout_1", "leaky_re_lu_1", "probs"]
    assert layers.ReLU().name == "re_lu" and layers.ELU().name == "elu"
    assert layers.Activation("tanh").name == "activation"
    assert layers.Softmax().name == "softmax" and layers.GaussianNoise(0.1).name == \
        "gaussian_noise"
    keras.utils.clear_session()
    assert layers.Dense(2).name == "dense"


def test_names_are_unique_within_a_model_and_checked():
    with pytest.raises(ValueError, match="unique names.*'x'"):
        keras.Sequential([layers.Dense(2, name="x"), layers.Dense(2, name="x")])
    model = keras.Sequential([layers.Dense(2, name="x")])
    with pytest.raises(ValueError, match="unique"):
        model.add(layers.Dense(3, name="x"))
    with pytest.raises(ValueError, match="name"):
        layers.Dense(2, name="")
    with pytest.raises(ValueError, match="name"):
        keras.Sequential(name=3)
    # a native layer in a Keras model gets a name there
    model.add(fm.Dense(1))
    assert model.get_layer(index=1)._layer_name == "dense"


def test_get_layer_by_name_or_index():
    model = _model()
    assert model.get_layer("probs") is model.layers[-1]
    assert model.get_layer(index=0) is model.layers[0]
    assert model.get_layer(index=-1) is model.layers[-1]
    with pytest.raises(ValueError, match="No such layer: nope. Existing layers are"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only a layer name or a layer index"):
        model.get_layer("probs", 1)
    with pytest.raises(ValueError, match="only has 5 layers"):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="either a layer name or layer index"):
        model.get_layer()


def test_summary_lists_names_classes_shapes_and_sizes():
    lines = []
    _model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert text.startswith('Model: "sequential"')
    for row in ("dense (Dense)", "(None, 8)", "batch_normalization (BatchNormalization)",
                "leaky_re_lu (LeakyReLU)", "probs (Dense)", "(None, 3)"):
        assert row in text, row
    # 4*8+8 + 4*8 (gamma, beta, moving mean/variance) + 8*3+3 = 99; 16 not trainable
    assert "Total params: 99 (396.00 B)" in text
    assert "Trainable params: 83 (332.00 B)" in text
    assert "Non-trainable params: 16 (64.00 B)" in text


def test_save_and_load_keep_names_classes_metrics_and_rules(tmp_path):
    X, y = _data()
    model = _model(name="clf")
    model.compile(optimizer=keras.optimizers.Adam(1e-2, epsilon=1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    model.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.name == "clf"
    assert [(layer.name, type(layer)) for layer in loaded.layers] == \
        [(layer.name, type(layer)) for layer in model.layers]
    assert loaded.optimizer.rule == "keras"
    assert loaded.layers[1].running_var == "biased"
    assert sorted(loaded.evaluate(X, y, verbose=0, return_dict=True)) == ["acc", "loss"]
    # the same next steps: weights, optimizer state and Keras' rules all came back
    h1 = model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    h2 = loaded.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert h1.history == h2.history
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the native loader reads it too, with the same rules
    native = fm.load(path)
    assert native.optimizer.rule == "keras" and native.layers[1].running_var == "biased"
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
    # pickling (joblib, multiprocessing) goes through the same bytes
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is keras.Sequential and copy.name == "clf"
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]


def _trained_and_saved(path):
    """A model trained one epoch and saved at ``path``; with its data."""
    X, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=1, verbose=0)
    model.save_weights(path)       # the same file as save's
    return model, X, y


def test_load_model_compile_false_and_custom_objects(tmp_path):
    path = tmp_path / "m.keras"
    model, X, y = _trained_and_saved(path)
    bare = keras.models.load_model(path, compile=False, custom_objects={"unused": object})
    assert bare.optimizer is None
    np.testing.assert_allclose(bare.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6, atol=1e-7)     # probabilities: softmax kept
    with pytest.raises(TypeError, match="custom_objects"):
        keras.models.load_model(path, custom_objects=["x"])
    bare.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    bare.fit(X, y, epochs=1, verbose=0)


def test_keras_files_get_a_clear_error(tmp_path):
    for name, head in (("k.keras", b"PK\x03\x04rest"), ("k.h5", b"\x89HDF\r\n\x1a\nrest")):
        path = tmp_path / name
        path.write_bytes(head + bytes(64))
        with pytest.raises(ValueError, match="as Keras writes.*set_weights"):
            keras.models.load_model(path)
        with pytest.raises(ValueError, match="as Keras writes"):
            _model().load_weights(path)


def test_save_weights_load_weights_checks_the_architecture(tmp_path):
    path = tmp_path / "m.weights.h5"
    model, X, _ = _trained_and_saved(path)
    other = _model()
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(X, verbose=0), model.predict(X, verbose=0))
    small = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="weights has 8 arrays"):
        small.load_weights(path)
    with pytest.raises(ValueError, match="skip_mismatch"):
        other.load_weights(path, skip_mismatch=True)


def test_optimizer_learning_rate_and_layer_trainable():
    X, y = _data()
    model = _model()
    opt = keras.optimizers.SGD(0.1)
    assert opt.learning_rate == 0.1
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    model.optimizer.learning_rate = 0.05
    assert model.optimizer.learning_rate == 0.05 == model._current_lr
    sched = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))
    assert sched.learning_rate == 0.1
    with pytest.raises(TypeError, match="not settable"):
        sched.learning_rate = 0.2
    model.compile(optimizer=sched, loss="sparse_categorical_crossentropy")
    model.fit(X, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    assert sched.learning_rate == pytest.approx(0.1 * 0.5 ** 4)     # after 4 steps, as Keras
    assert all(layer.trainable for layer in model.layers)
    with pytest.raises(ValueError, match="freezing"):
        model.layers[0].trainable = False
    assert model.input_shape == (None, 4) and model.output_shape == (None, 3)


def test_flatten_first_takes_samples_of_any_shape(tmp_path):
    images = np.random.default_rng(0).random((12, 3, 4)).astype("float32")
    labels = np.arange(12) % 2
    model = keras.Sequential([keras.Input(shape=(3, 4)), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    assert model.input_dim == 12 and model.input_shape == (None, 3, 4)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.predict(images, verbose=0),
                                  model.predict(images.reshape(12, 12), verbose=0))
    with pytest.raises(ValueError, match=r"shape \(4, 3\), the model takes \(3, 4\)"):
        model.predict(images.reshape(12, 4, 3), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.input_shape == (None, 3, 4) and type(loaded.layers[0]) is layers.Flatten
    np.testing.assert_array_equal(loaded.predict(images, verbose=0),
                                  model.predict(images, verbose=0))
    with pytest.raises(ValueError, match="need a Flatten"):
        keras.Sequential([keras.Input(shape=(3, 4)), layers.Dense(2)])
    with pytest.raises(ValueError, match="differs from the Input"):
        keras.Sequential([keras.Input(shape=(3, 4)), layers.Flatten(input_shape=(4, 3))])
    with pytest.raises(ValueError, match="channels_last"):
        layers.Flatten(data_format="channels_first")
    with pytest.raises(AttributeError, match="keras.layers has no 'Conv2D'"):
        layers.Conv2D()
    with pytest.raises(AttributeError, match="keras.metrics has no 'AUC'"):
        keras.metrics.AUC()
