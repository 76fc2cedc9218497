"""Keras ``Sequential`` conveniences: ``model(X)``, predict_on_batch, test_on_batch,
evaluate(return_dict=False), fit(initial_epoch=..., validation_freq=...), pop, and the
weights / trainable_weights / non_trainable_weights properties."""
import warnings

import numpy as np
import pytest

import fastmlp as fm

from conftest import make_data, make_mlp


def _data(n=60, d=5, k=3, seed=0):
    return make_data("separable", n, d, k, seed)


def _classifier(dtype="float64", seed=3, lr=0.01, dropout=True):
    layers = [fm.Standardize(), fm.Dense(16), fm.BatchNorm(), fm.ReLU()]
    layers += [fm.Dropout(0.25)] if dropout else []
    model = fm.Sequential(layers + [fm.Dense(3)], input_dim=5, dtype=dtype, seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=lr))
    return model


def _same_weights_list(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


def _same_weights(a, b):
    return _same_weights_list(a.get_weights(), b.get_weights())


class EpochTrace(fm.Callback):
    """The epoch numbers the hooks see and which logs keys each epoch had."""

    def __init__(self):
        self.begin, self.end, self.keys = [], [], {}

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(epoch)
        self.keys[epoch] = sorted(logs)
        return False


# ---------------------------------------------------------------- model(X), predict_on_batch

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_call_and_predict_on_batch_equal_predict_bitwise(dtype):
    X, y = _data()
    model = _classifier(dtype)
    raw = model(X)                                   # compiled: probabilities, like predict
    assert raw.shape == (60, 3) and raw.dtype == np.dtype(dtype)
    assert np.array_equal(raw, model.predict(X))
    assert np.array_equal(model(X, training=None), model.predict(X))   # Keras' default: infer
    assert np.array_equal(model(X.tolist()), model.predict(X))
    assert np.array_equal(model.predict_on_batch(X), model.predict(X))
    np.testing.assert_allclose(raw.sum(axis=1), 1.0, rtol=1e-6)
    # training=True runs dropout and batch statistics with fresh masks per call (the same
    # sequence for a twin with the same seed), changing no weights.
    before = model.get_weights()
    twin = _classifier(dtype)
    first = model(X, training=True)
    assert np.array_equal(first, twin.predict(X, training=True))
    assert not np.array_equal(first, raw)
    assert not np.array_equal(model(X, training=True), first)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_call_before_compile_gives_raw_outputs():
    X, _ = _data()
    model = fm.Sequential([fm.Dense(4)], dtype="float64", seed=0)     # input_dim from X
    out = model(X)
    W, b = model.get_weights()
    np.testing.assert_allclose(out, X @ W + b, rtol=1e-12, atol=1e-12)


def test_call_validates_training():
    X, _ = _data()
    model = _classifier()
    with pytest.raises(ValueError, match="training"):
        model(X, training="yes")
    with pytest.raises(ValueError, match="X"):
        model(X[:, :4])


# ---------------------------------------------------------------- test_on_batch, evaluate

def _numpy_cross_entropy(model, X, y, w=None):
    p = model.predict(X).astype(np.float64)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    loss = -(w * np.log(p[np.arange(len(y)), y])).sum() / len(y)
    acc = (w * (p.argmax(axis=1) == y)).sum() / w.sum()
    return loss, acc


def test_test_on_batch_is_evaluate_on_one_block_with_numpy_numbers():
    X, y = _data()
    model = _classifier()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    before = model.get_weights()
    logs = model.test_on_batch(X, y)
    assert logs == model.evaluate(X, y, batch_size=len(X))
    assert list(logs) == ["loss", "accuracy"]
    loss, acc = _numpy_cross_entropy(model, X, y)
    assert logs["loss"] == pytest.approx(loss, rel=1e-12)
    assert logs["accuracy"] == pytest.approx(acc, rel=1e-15)
    w = np.linspace(0.0, 2.0, len(y))
    weighted = model.test_on_batch(X, y, sample_weight=w)
    loss, acc = _numpy_cross_entropy(model, X, y, w)
    assert weighted["loss"] == pytest.approx(loss, rel=1e-12)
    assert weighted["accuracy"] == pytest.approx(acc, rel=1e-15)
    assert _same_weights_list(before, model.get_weights())    # inference only


def test_evaluate_return_dict_false_classification_is_loss_then_accuracy():
    X, y = _data()
    model = _classifier()
    logs = model.evaluate(X, y)
    assert isinstance(logs, dict)                    # the SPEC's default
    flat = model.evaluate(X, y, return_dict=False)
    assert flat == [logs["loss"], logs["accuracy"]] == list(logs.values())
    assert model.test_on_batch(X, y, return_dict=False) == list(
        model.test_on_batch(X, y).values())


def _regressor(metrics=None):
    return make_mlp((8,), 2, 5, "tanh", "float64", 1, "mse", "sgd", metrics=metrics)


def test_evaluate_return_dict_false_regression_scalar_or_list_in_dict_order():
    X, _ = _data()
    Y = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], axis=1)
    plain = _regressor()
    flat = plain.evaluate(X, Y, return_dict=False)
    err = plain.predict(X) - Y
    assert isinstance(flat, float) and flat == plain.evaluate(X, Y)["loss"]
    assert flat == pytest.approx((err ** 2).mean(), rel=1e-12)

    model = _regressor(["rmse", "mean_absolute_error"])
    logs = model.evaluate(X, Y)
    assert list(logs) == ["loss", "rmse", "mae"]
    flat = model.evaluate(X, Y, return_dict=False)
    assert flat == list(logs.values())
    err = model.predict(X) - Y
    np.testing.assert_allclose(flat, [(err ** 2).mean(), np.sqrt((err ** 2).mean()),
                                      np.abs(err).mean()], rtol=1e-12)
    assert model.test_on_batch(X, Y, return_dict=False) == pytest.approx(flat, rel=1e-12)


@pytest.mark.parametrize("bad", [0, 1, "no", None])
def test_return_dict_must_be_bool(bad):
    X, y = _data()
    model = _classifier()
    with pytest.raises(ValueError, match="return_dict"):
        model.evaluate(X, y, return_dict=bad)
    with pytest.raises(TypeError, match="return_dict"):
        model.test_on_batch(X, y, return_dict=bad)


def test_test_on_batch_needs_compile_and_valid_input():
    X, y = _data()
    model = fm.Sequential([fm.Dense(3)], input_dim=5)
    with pytest.raises(RuntimeError, match="compile"):
        model.test_on_batch(X, y)
    model = _classifier()
    with pytest.raises(ValueError, match="y"):
        model.test_on_batch(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        model.test_on_batch(X, y, sample_weight=-np.ones(len(y)))


# ---------------------------------------------------------------- fit(initial_epoch=...)

def _scheduled(seed=7, dropout=True):
    """SGD without momentum and an epoch-dependent rate; without dropout (whose masks follow
    the engine's step count) its whole state is the weights, so a fresh model can resume."""
    layers = [fm.Dense(16, activation="relu")] + ([fm.Dropout(0.2)] if dropout else [])
    model = fm.Sequential(layers + [fm.Dense(3)], input_dim=5, dtype="float64", seed=seed)
    model.compile(loss="cross_entropy", optimizer=fm.SGD(lr=lambda e: 0.2 / (1 + e)))
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_resume_with_initial_epoch_is_bit_identical(dtype):
    X, y = _data(n=70)
    sched = fm.schedules.StepDecay(0.05, step_size=2, gamma=0.5)
    kw = dict(batch_size=16, shuffle=True, verbose=0, validation_split=0.2)

    def make():
        model = _classifier(dtype, lr=0.05)
        model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=sched))
        return model

    whole = make()
    h_whole = whole.fit(X, y, epochs=10, **kw)
    resumed = make()
    resumed.fit(X, y, epochs=5, **kw)
    h_rest = resumed.fit(X, y, epochs=10, initial_epoch=5, **kw)
    assert _same_weights(whole, resumed)
    assert h_rest.epoch == [5, 6, 7, 8, 9]
    for key, values in h_whole.history.items():
        assert h_rest.history[key] == values[5:], key
    assert resumed._epoch == whole._epoch == 10
    assert resumed._current_lr == whole._current_lr == sched(9)


def test_initial_epoch_sets_the_engine_epoch_for_a_fresh_model():
    # Weights restored into a new model whose own count is 0: initial_epoch, not that count,
    # picks the schedule's rates and the shuffles, so the run continues as if never stopped.
    X, y = _data(n=50)
    whole = _scheduled(dropout=False)
    whole.fit(X, y, epochs=8, batch_size=8, verbose=0)
    first = _scheduled(dropout=False)
    first.fit(X, y, epochs=3, batch_size=8, verbose=0)
    fresh = _scheduled(dropout=False)
    fresh.set_weights(first.get_weights())
    assert fresh._epoch == 0
    fresh.fit(X, y, epochs=8, initial_epoch=3, batch_size=8, verbose=0)
    assert _same_weights(whole, fresh)
    # The running count instead (initial_epoch=0 on the same start) replays epochs 0..4.
    other = _scheduled(dropout=False)
    other.set_weights(first.get_weights())
    other.fit(X, y, epochs=5, batch_size=8, verbose=0)
    assert not _same_weights(whole, other)
    assert fresh._current_lr == pytest.approx(0.2 / 8, rel=1e-15)


def test_default_initial_epoch_keeps_the_running_count():
    # Unchanged behaviour: two fits of 4 epochs are one fit of 8 (schedule and shuffles go on),
    # while the callbacks count each fit from 0 (Keras).
    X, y = _data(n=50)
    whole, halves = _scheduled(), _scheduled()
    whole.fit(X, y, epochs=8, batch_size=8, verbose=0)
    halves.fit(X, y, epochs=4, batch_size=8, verbose=0)
    h = halves.fit(X, y, epochs=4, batch_size=8, verbose=0)
    assert _same_weights(whole, halves) and h.epoch == [0, 1, 2, 3]


def test_initial_epoch_numbers_reach_callbacks_schedules_and_progress(capsys):
    X, y = _data(n=40)
    seen_by_lr, seen_by_scheduler = [], []

    def lr(epoch):
        seen_by_lr.append(epoch)
        return 0.1 / (1 + epoch)

    def scheduler(epoch, current):
        seen_by_scheduler.append(epoch)
        return current

    model = fm.Sequential([fm.Dense(3)], input_dim=5, seed=0)
    model.compile(loss="cross_entropy", optimizer=fm.SGD(lr=lr))
    model.build()
    seen_by_lr.clear()                   # build asked for epoch 0's rate: the engine's start
    trace = EpochTrace()
    h = model.fit(X, y, epochs=6, initial_epoch=2, batch_size=8, verbose=2,
                  callbacks=[trace, fm.LearningRateScheduler(scheduler)])
    assert trace.begin == trace.end == h.epoch == seen_by_lr == seen_by_scheduler == [2, 3, 4, 5]
    assert len(h.history["loss"]) == 4 and model._epoch == 6
    assert model._current_lr == pytest.approx(0.1 / 6, rel=1e-15)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Epoch")]
    assert [ln.split(" - ")[0] for ln in lines] == [f"Epoch {e}/6" for e in (3, 4, 5, 6)]


@pytest.mark.parametrize("initial_epoch,epochs", [(5, 5), (7, 3), (1, 0)])
def test_initial_epoch_at_or_past_epochs_trains_nothing(initial_epoch, epochs):
    X, y = _data(n=30)
    model = _scheduled()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    before, count = model.get_weights(), model._epoch

    class Ends(fm.Callback):
        calls = []

        def on_train_begin(self, logs=None):
            self.calls.append("begin")

        def on_train_end(self, logs=None):
            self.calls.append("end")

    ends = Ends()
    h = model.fit(X, y, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                  validation_split=0.2, callbacks=[ends])
    assert h.history == {} and h.epoch == [] and ends.calls == ["begin", "end"]
    assert _same_weights_list(before, model.get_weights()) and model._epoch == count


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_initial_epoch_validated(bad):
    X, y = _data(n=20)
    model = _scheduled()
    with pytest.raises(ValueError, match="initial_epoch"):
        model.fit(X, y, epochs=3, initial_epoch=bad, verbose=0)
    assert model._epoch == 0 and not model.history


# ---------------------------------------------------------------- fit(validation_freq=...)

class ValReference(fm.Callback):
    """evaluate() on the dev set at each epoch's end (what val_loss must equal)."""

    def __init__(self, Xv, yv):
        self.Xv, self.yv, self.values = Xv, yv, {}

    def on_epoch_end(self, epoch, logs=None):
        self.values[epoch] = self.model.evaluate(self.Xv, self.yv)
        return False


@pytest.mark.parametrize("freq,expected", [(1, [0, 1, 2, 3, 4, 5, 6]), (3, [2, 5]),
                                           (7, [6]), (8, []), ([1, 4, 7], [0, 3, 6]),
                                           ((2, 2, 9), [1]), ([], [])])
def test_validation_freq_validates_exactly_those_epochs(freq, expected):
    X, y = _data(n=60)
    Xv, yv = _data(n=25, seed=1)
    model = _classifier(seed=5)
    trace, ref = EpochTrace(), ValReference(Xv, yv)
    h = model.fit(X, y, epochs=7, batch_size=16, verbose=0, validation_data=(Xv, yv),
                  validation_freq=freq, callbacks=[trace, ref])
    validated = [e for e in range(7) if "val_loss" in trace.keys[e]]
    assert validated == expected
    for e in range(7):
        has_val = e in expected
        assert trace.keys[e] == (["accuracy", "loss", "val_accuracy", "val_loss"] if has_val
                                 else ["accuracy", "loss"])
    assert len(h.history["loss"]) == 7 and h.epoch == list(range(7))
    # History keeps Keras' shape: the val_ lists hold only the validated epochs' values.
    assert h.history.get("val_loss", []) == [ref.values[e]["loss"] for e in expected]
    assert h.history.get("val_accuracy", []) == [ref.values[e]["accuracy"] for e in expected]


def test_validation_freq_counts_keras_epochs_with_initial_epoch():
    X, y = _data(n=40)
    model = _scheduled()
    trace = EpochTrace()
    model.fit(X, y, epochs=7, initial_epoch=2, validation_split=0.25, validation_freq=2,
              batch_size=8, verbose=0, callbacks=[trace])
    assert [e for e in trace.end if "val_loss" in trace.keys[e]] == [3, 5]


def test_validation_freq_does_not_change_training():
    X, y = _data(n=50)
    a, b = _classifier(seed=2), _classifier(seed=2)
    ha = a.fit(X, y, epochs=4, batch_size=8, validation_split=0.2, verbose=0)
    hb = b.fit(X, y, epochs=4, batch_size=8, validation_split=0.2, validation_freq=2,
               verbose=0)
    assert _same_weights(a, b) and ha.history["loss"] == hb.history["loss"]
    assert hb.history["val_loss"] == ha.history["val_loss"][1::2]


def test_validation_freq_without_validation_data_is_ignored():
    X, y = _data(n=30)
    h = _scheduled().fit(X, y, epochs=3, validation_freq=2, verbose=0)
    assert sorted(h.history) == ["accuracy", "loss"]


class Scripted(fm.Callback):
    """Replaces val_loss, where an epoch has one, by a scripted value."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        if "val_loss" in logs:
            logs["val_loss"] = self.values[epoch]
        return False


def test_early_stopping_counts_only_validated_epochs():
    X, y = _data(n=50)
    model = _classifier(seed=4)
    vals = {1: 1.0, 3: 0.5, 5: 0.6, 7: 0.7, 9: 0.1}
    snaps = {}

    class Snapshot(fm.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snaps[epoch] = self.model.get_weights()

    es = fm.EarlyStopping(monitor="val_loss", patience=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # epochs without validation are not a warning
        h = model.fit(X, y, epochs=10, batch_size=16, validation_split=0.2, validation_freq=2,
                      verbose=0, callbacks=[Snapshot(), Scripted(vals), es])
    # Patience 2 counts validated epochs only: 5 and 7 do not improve on 3 -> stop after 7.
    assert es.best_epoch == 3 and es.stopped_epoch == 7 and h.epoch == list(range(8))
    assert len(h.history["val_loss"]) == 4
    assert _same_weights_list(snaps[3], model.get_weights())      # restore_best_weights


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None, [0], [1, 2.0], [True],
                                 {1: 2}])
def test_validation_freq_validated(bad):
    X, y = _data(n=20)
    model = _scheduled()
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(X, y, epochs=2, validation_split=0.2, validation_freq=bad, verbose=0)
    with pytest.raises(TypeError, match="validation_freq"):
        model.fit(X, y, epochs=2, validation_freq=bad, verbose=0)
    assert model._epoch == 0


# ---------------------------------------------------------------- pop

def test_pop_before_build_changes_the_output():
    X, _ = _data()
    layers = [fm.Dense(8), fm.ReLU(), fm.Dense(3)]
    model = fm.Sequential(layers, input_dim=5, dtype="float64", seed=11)
    full = fm.Sequential([fm.Dense(8), fm.ReLU(), fm.Dense(3)], input_dim=5, dtype="float64",
                         seed=11)
    assert model.pop() is layers[2]
    assert model.layers == layers[:2] and model.output_dim == 8
    out = model.predict(X)
    W, b = model.get_weights()
    assert out.shape == (60, 8)
    np.testing.assert_allclose(out, np.maximum(X @ W + b, 0.0), rtol=1e-12, atol=1e-12)
    # Per-layer seeds: the kept layer has the weights it had in the full model.
    assert _same_weights_list(full.get_weights()[:2], [W, b])


def test_pop_then_add_and_pop_everything():
    model = fm.Sequential([fm.Dense(4), fm.Dense(2)], seed=0)
    model.pop()
    model.add(fm.Dense(6))
    model.build(3)
    assert model.output_dim == 6 and model.predict(np.ones((2, 3))).shape == (2, 6)
    empty = fm.Sequential([fm.Dense(4)])
    empty.pop()
    with pytest.raises(ValueError, match="no layers"):
        empty.pop()


def test_pop_after_build_is_refused_like_add():
    X, y = _data()
    model = _classifier()
    model.fit(X, y, epochs=1, verbose=0)
    n = len(model.layers)
    with pytest.raises(ValueError, match="already built"):
        model.pop()
    with pytest.raises(ValueError, match="already built"):
        model.add(fm.Dense(2))
    assert len(model.layers) == n


def test_pop_on_a_compiled_model_checks_the_new_last_layer():
    model = fm.Sequential([fm.Dense(8), fm.Softmax(), fm.Dropout(0.1), fm.Dense(3)])
    model.compile(loss="cross_entropy")
    with pytest.raises(ValueError, match="softmax"):
        model.pop()                       # would leave a Dropout after the fused softmax
    assert len(model.layers) == 4
    built = fm.Sequential([fm.Dense(8), fm.Softmax(), fm.Dense(3)], input_dim=5, seed=0)
    built.compile(loss="cross_entropy")
    W0 = built.get_weights()[:2]
    built.pop()                           # not trained yet: rebuilt, the softmax now fused
    assert [np.array_equal(a, b) for a, b in zip(built.get_weights(), W0)] == [True, True]
    np.testing.assert_allclose(built.predict(np.ones((2, 5))).sum(axis=1), 1.0, rtol=1e-6)
    ok = fm.Sequential([fm.Dense(8), fm.ReLU(), fm.Dense(3), fm.Dense(3)], input_dim=5,
                       seed=0)
    ok.compile(loss="cross_entropy")
    ok.pop()
    assert ok.output_dim == 3
    X, y = _data()
    ok.fit(X, y, epochs=1, verbose=0)
    grown = fm.Sequential([fm.Dense(3), fm.Softmax()])
    grown.compile(loss="cross_entropy")
    with pytest.raises(ValueError, match="softmax"):
        grown.add(fm.Dropout(0.5))         # add checks it the same way once compiled
    assert len(grown.layers) == 2


# ---------------------------------------------------------------- weights properties

def _fitted_mixed():
    X, y = _data(n=80)
    model = fm.Sequential([fm.Standardize(), fm.Dense(6), fm.BatchNorm(), fm.ReLU(),
                           fm.Dropout(0.1), fm.Dense(3)], input_dim=5, dtype="float64", seed=9)
    model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=0.01))
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return model, X, y


def test_weights_partition_into_trainable_and_non_trainable():
    model, X, y = _fitted_mixed()
    every = model.get_weights()
    flags = model._net.trainable()
    assert flags == [False, False, True, True, True, True, False, False, True, True]
    assert len(model.weights) == len(every) == 10
    assert _same_weights_list(model.weights, every)
    assert all(np.array_equal(a, every[i]) for a, i in
               zip(model.trainable_weights, [2, 3, 4, 5, 8, 9]))
    assert all(np.array_equal(a, every[i]) for a, i in
               zip(model.non_trainable_weights, [0, 1, 6, 7]))
    assert [a.shape for a in model.trainable_weights] == [(5, 6), (6,), (6,), (6,), (6, 3), (3,)]
    assert [a.shape for a in model.non_trainable_weights] == [(5,), (5,), (6,), (6,)]
    # Numbers: Standardize's statistics are the data's, gradients match trainable_weights.
    np.testing.assert_allclose(model.non_trainable_weights[0], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.non_trainable_weights[1], X.std(axis=0), rtol=1e-12)
    assert [g.shape for g in model.gradients(X, y)] == [a.shape
                                                        for a in model.trainable_weights]
    sizes = sum(a.size for a in model.trainable_weights)
    assert sizes + sum(a.size for a in model.non_trainable_weights) == model.count_params()
    lines = []
    model.summary(print_fn=lines.append)
    assert f"Trainable params: {sizes}" in lines[0]


def test_weights_are_read_only_copies():
    model, X, _ = _fitted_mixed()
    before = model.predict(X)
    for prop in ("weights", "trainable_weights", "non_trainable_weights"):
        arrays = getattr(model, prop)
        with pytest.raises(ValueError, match="read-only"):
            arrays[0][...] = 0.0
        with pytest.raises(AttributeError):
            setattr(model, prop, arrays)
        copy = arrays[0].copy()
        copy[...] = 0.0                   # a copy: the model does not see it
    assert np.array_equal(model.predict(X), before)
    assert model.get_weights()[0].flags.writeable     # get_weights is unchanged


def test_weights_of_an_unbuilt_model():
    model = fm.Sequential([fm.Dense(3)])
    assert model.weights == model.trainable_weights == model.non_trainable_weights == []
    assert not model.built
    known = fm.Sequential([fm.Dense(3)], input_dim=2, seed=0)
    assert [a.shape for a in known.trainable_weights] == [(2, 3), (3,)]
    assert known.non_trainable_weights == []


def test_resume_from_a_saved_model_with_initial_epoch(tmp_path):
    # Keras' resume recipe: reload the checkpoint, fit on from its epoch. The file keeps the
    # optimizer state and the step count (dropout masks), so the run is the uninterrupted one.
    X, y = _data(n=50)
    decay = fm.schedules.ExponentialDecay(0.02, 0.8)
    whole, first = _scheduled(), _scheduled()
    for model in (whole, first):
        model.compile(loss="cross_entropy", optimizer=fm.Adam(lr=decay))
    whole.fit(X, y, epochs=6, batch_size=8, verbose=0)
    first.fit(X, y, epochs=4, batch_size=8, verbose=0)
    first.save(tmp_path / "epoch4.fm")
    loaded = fm.load(tmp_path / "epoch4.fm")
    h = loaded.fit(X, y, epochs=6, initial_epoch=4, batch_size=8, verbose=0)
    assert _same_weights(whole, loaded) and h.epoch == [4, 5]
