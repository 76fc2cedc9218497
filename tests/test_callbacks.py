"""EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, ModelCheckpoint, CSVLogger,
TerminateOnNaN, custom callbacks."""
import csv
import math

import numpy as np
import pytest

import fastmlp as fm


def _setup(seed=0, optimizer=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=80) > 0).astype(int)
    m = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dense(2)], input_dim=4, seed=seed)
    m.compile(loss="cross_entropy", optimizer=optimizer or fm.Adam(lr=0.05))
    return m, X, y


class Scripted(fm.Callback):
    """Overrides logs[key] (val_loss) with a scripted sequence, so the callbacks listed after it
    see deterministic values (History, which runs first, keeps the real ones)."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key = values, key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        return False


class LrTrace(fm.Callback):
    """The learning rate each epoch trains with: the model's and the engine's."""

    def __init__(self):
        self.lr, self.net_lr = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.lr.append(self.model._current_lr)
        self.net_lr.append(self.model._net.lr)


class PredTrace(fm.Callback):
    """The model's predictions on X at the end of each epoch."""

    def __init__(self, X):
        self.X, self.preds = X, []

    def on_epoch_end(self, epoch, logs=None):
        self.preds.append(self.model.predict(self.X))


def test_early_stopping_patience_and_restores_best():
    m, X, y = _setup()
    vals = [1.0, 0.5, 0.6, 0.7, 0.4, 0.45, 0.46, 0.47, 0.3, 0.2]
    snap = {}

    class Snapshot(fm.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snap[epoch] = self.model.get_weights()

    es = fm.EarlyStopping(patience=3)
    h = m.fit(X, y, epochs=10, callbacks=[Scripted(vals), Snapshot(), es], verbose=0)
    assert len(h.history["loss"]) == 8 and es.stopped_epoch == 7 and es.best_epoch == 4
    for a, b in zip(m.get_weights(), snap[4]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_min_delta_mode_and_no_restore():
    m, X, y = _setup()
    es = fm.EarlyStopping(patience=1, min_delta=0.2, restore_best_weights=False)
    h = m.fit(X, y, epochs=10, callbacks=[Scripted([1.0, 0.9, 0.5, 0.45] + [0.1] * 6), es],
              verbose=0)
    assert len(h.history["loss"]) == 2
    last = m.get_weights()
    assert es.best_weights is None and last is not None
    acc = fm.EarlyStopping(monitor="val_accuracy", patience=2)
    assert acc._sign == -1


def test_early_stopping_with_real_validation_and_missing_monitor():
    m, X, y = _setup()
    h = m.fit(X, y, epochs=50, validation_split=0.25, callbacks=[fm.EarlyStopping(patience=2)],
              verbose=0)
    assert len(h.history["val_loss"]) < 50
    with pytest.warns(RuntimeWarning, match="val_loss"):
        m.fit(X, y, epochs=2, callbacks=[fm.EarlyStopping()], verbose=0)


def test_learning_rate_scheduler_one_and_two_args():
    m, X, y = _setup()
    seen = []
    m.fit(X, y, epochs=3, verbose=0,
          callbacks=[fm.LearningRateScheduler(lambda e: 0.1 * 0.5 ** e)])
    assert m._current_lr == pytest.approx(0.025)

    def halve(epoch, lr):
        seen.append(lr)
        return lr / 2

    m.fit(X, y, epochs=2, verbose=0, callbacks=[fm.LearningRateScheduler(halve)])
    assert seen == pytest.approx([0.025, 0.0125])
    with pytest.raises(ValueError, match="LearningRateScheduler"):
        m.fit(X, y, epochs=1, verbose=0, callbacks=[fm.LearningRateScheduler(lambda e: -1)])


def test_custom_callback_hooks_and_stop():
    m, X, y = _setup()
    events = []

    class Rec(fm.Callback):
        def on_train_begin(self, logs=None):
            events.append("begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"b{epoch}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"e{epoch}")
            assert set(logs) == {"loss", "accuracy"}
            return epoch == 1

        def on_train_end(self, logs=None):
            events.append("end")

    h = m.fit(X, y, epochs=5, callbacks=Rec(), verbose=0)
    assert events == ["begin", "b0", "e0", "b1", "e1", "end"] and len(h.epoch) == 2

    class StopFlag(fm.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    assert len(m.fit(X, y, epochs=5, callbacks=[StopFlag()], verbose=0).epoch) == 1


def test_history_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    m, X, y = _setup()
    h = m.fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    path = tmp_path / "curves.png"
    fig = h.plot(path)
    assert path.read_bytes()[:4] == b"\x89PNG" and fig is not None
    import matplotlib.pyplot as plt

    plt.close("all")


# ------------------------------------------------------------------ ReduceLROnPlateau


def test_reduce_lr_on_plateau_flat_loss_factor_cooldown_min_lr(capsys):
    m, X, y = _setup()
    trace = LrTrace()
    cb = fm.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.004, verbose=1)
    m.fit(X, y, epochs=16, verbose=0, callbacks=[Scripted([1.0] * 16), cb, trace])
    # Keras's counting: reductions after epochs 2, 5, 8, 11 (wait 2, one skipped cooldown
    # epoch, the second one already counts); then 0.05 / 16 = 0.003125 is clipped to min_lr,
    # and a rate already at min_lr is left alone.
    expected = [0.05] * 3 + [0.025] * 3 + [0.0125] * 3 + [0.00625] * 3 + [0.004] * 4
    assert trace.lr == pytest.approx(expected, rel=1e-15)
    assert trace.net_lr == pytest.approx(expected, rel=1e-15)
    assert m._current_lr == 0.004 and m._net.lr == pytest.approx(0.004, rel=1e-15)
    out = capsys.readouterr().out
    assert out.count("ReduceLROnPlateau reducing learning rate") == 4
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.025." in out
    assert "Epoch 12: ReduceLROnPlateau reducing learning rate to 0.004." in out


def test_reduce_lr_on_plateau_max_mode_min_delta_and_persistence():
    m, X, y = _setup()
    trace = LrTrace()
    acc = [0.5, 0.6, 0.6, 0.60005, 0.7, 0.7, 0.7]
    cb = fm.ReduceLROnPlateau(monitor="val_accuracy", patience=2, min_delta=1e-3)
    m.fit(X, y, epochs=7, verbose=0, callbacks=[Scripted(acc, "val_accuracy"), cb, trace])
    # 0.60005 is not better than 0.6 by more than 1e-3: reduce after epoch 3; 0.7 improves.
    assert trace.lr == pytest.approx([0.05] * 4 + [0.005] * 3, rel=1e-15)
    assert m._current_lr == pytest.approx(0.0005, rel=1e-15) and cb.best == 0.7
    # The rate stays for the next fit; best, wait and cooldown start over.
    trace2 = LrTrace()
    m.fit(X, y, epochs=2, verbose=0, callbacks=[Scripted([0.1, 0.1], "val_accuracy"), cb,
                                                trace2])
    assert trace2.lr == pytest.approx([0.0005] * 2, rel=1e-15) and cb.best == 0.1


def test_reduce_lr_on_plateau_real_loss_and_engine_rate():
    # min_delta larger than any change: every epoch after the first is a plateau.
    m, X, y = _setup(optimizer=fm.SGD(lr=0.2))
    trace = LrTrace()
    m.fit(X, y, epochs=4, verbose=0, callbacks=[
        fm.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=1e3), trace])
    assert trace.lr == pytest.approx([0.2, 0.2, 0.1, 0.05], rel=1e-15)
    assert m._current_lr == pytest.approx(0.025, rel=1e-15)
    # The engine trains with it: one SGD step moves the weights by lr * gradient.
    Xb, yb = X[:16], y[:16]
    w0, g = m.get_weights(), m.gradients(Xb, yb)
    m.train_on_batch(Xb, yb)
    for a, b, gr in zip(m.get_weights(), w0, g):
        np.testing.assert_allclose(a, b - 0.025 * gr, rtol=1e-5, atol=1e-7)


def _keras_reduce_lr(values, lr, factor, patience, cooldown, min_lr, min_delta):
    """Keras 3's ReduceLROnPlateau.on_epoch_end transcribed (mode min); the rates per epoch."""
    best, wait, cooldown_counter, rates = float("inf"), 0, 0, []
    for current in values:
        rates.append(lr)
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if current + min_delta < best:
            best = current
            wait = 0
        elif not cooldown_counter > 0:
            wait += 1
            if wait >= patience:
                if lr > min_lr:
                    lr = max(lr * factor, min_lr)
                    cooldown_counter = cooldown
                    wait = 0
    return rates + [lr]


def test_reduce_lr_on_plateau_matches_keras_rule_on_random_sequences():
    m, _, _ = _setup()
    m.build()
    rng = np.random.default_rng(1)
    for trial in range(60):
        values = np.round(np.cumsum(rng.normal(0.0, 0.02, 25)) + 1.0, 2).tolist()
        kw = dict(factor=float(rng.choice([0.1, 0.5, 0.9])), patience=int(rng.integers(0, 4)),
                  cooldown=int(rng.integers(0, 4)), min_lr=float(rng.choice([0.0, 0.01])),
                  min_delta=float(rng.choice([0.0, 1e-4, 0.015])))
        m._set_lr(0.05)
        cb = fm.ReduceLROnPlateau(**kw)
        cb.set_model(m)
        cb.on_train_begin({})
        rates = []
        for epoch, v in enumerate(values):
            rates.append(m._current_lr)
            cb.on_epoch_end(epoch, {"val_loss": v})
        rates.append(m._current_lr)
        assert rates == _keras_reduce_lr(values, 0.05, **kw), (trial, kw)


def test_reduce_lr_on_plateau_refuses_schedules_and_warns_on_missing_monitor():
    m, X, y = _setup(optimizer=fm.Adam(lr=fm.schedules.ExponentialDecay(0.05, 0.9)))
    with pytest.raises(ValueError, match="constant learning rate"):
        m.fit(X, y, epochs=1, verbose=0, callbacks=[fm.ReduceLROnPlateau()])
    m, X, y = _setup(optimizer=fm.SGD(lr=lambda epoch: 0.1))
    with pytest.raises(ValueError, match="constant learning rate"):
        m.fit(X, y, epochs=1, verbose=0, callbacks=[fm.ReduceLROnPlateau()])
    m, X, y = _setup()
    with pytest.warns(RuntimeWarning, match="ReduceLROnPlateau: 'val_loss' is not in the logs"):
        m.fit(X, y, epochs=3, verbose=0, callbacks=[fm.ReduceLROnPlateau(patience=0)])
    assert m._current_lr == 0.05


# ------------------------------------------------------------------ ModelCheckpoint


def test_model_checkpoint_every_epoch_with_formatted_names(tmp_path):
    m, X, y = _setup()
    preds = PredTrace(X)
    path = tmp_path / "ck" / "model-{epoch:02d}-{val_loss:.3f}.fm"
    m.fit(X, y, epochs=3, verbose=0,
          callbacks=[Scripted([0.9, 0.5, 0.7]), fm.ModelCheckpoint(path), preds])
    names = ["model-01-0.900.fm", "model-02-0.500.fm", "model-03-0.700.fm"]
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == names
    for name, p in zip(names, preds.preds):
        np.testing.assert_array_equal(fm.load(tmp_path / "ck" / name).predict(X), p)
    assert not np.array_equal(preds.preds[0], preds.preds[2])


def test_model_checkpoint_save_best_only_keeps_the_best_epoch(tmp_path, capsys):
    m, X, y = _setup()
    preds = PredTrace(X)
    best = tmp_path / "best.fm"
    ck = fm.ModelCheckpoint(str(best), save_best_only=True, verbose=1)
    per_epoch = fm.ModelCheckpoint(tmp_path / "e{epoch}.fm", save_best_only=True)
    vals = [1.0, 0.5, 0.6, 0.4, 0.45]
    m.fit(X, y, epochs=5, verbose=0, callbacks=[Scripted(vals), ck, per_epoch, preds])
    assert sorted(p.name for p in tmp_path.glob("e*.fm")) == ["e1.fm", "e2.fm", "e4.fm"]
    np.testing.assert_array_equal(fm.load(best).predict(X), preds.preds[3])
    assert not np.array_equal(preds.preds[3], preds.preds[4]) and ck.best == 0.4
    out = capsys.readouterr().out
    assert f"Epoch 4: val_loss improved from 0.50000 to 0.40000, saving model to {best}" in out
    assert "Epoch 5: val_loss did not improve from 0.40000" in out
    # The best value is kept across fits (Keras): a worse second run overwrites nothing.
    before = best.read_bytes()
    m.fit(X, y, epochs=2, verbose=0, callbacks=[Scripted([0.41, 0.5]), ck])
    assert best.read_bytes() == before
    # mode="auto" maximizes accuracy-like names.
    acc = fm.ModelCheckpoint(tmp_path / "acc-{epoch}.fm", monitor="val_accuracy",
                             save_best_only=True)
    m.fit(X, y, epochs=4, verbose=0,
          callbacks=[Scripted([0.5, 0.7, 0.6, 0.8], "val_accuracy"), acc])
    assert sorted(p.name for p in tmp_path.glob("acc-*.fm")) == ["acc-1.fm", "acc-2.fm",
                                                                  "acc-4.fm"]


def test_model_checkpoint_missing_values(tmp_path):
    m, X, y = _setup()
    with pytest.raises(KeyError, match="val_loss"):
        m.fit(X, y, epochs=1, verbose=0,
              callbacks=[fm.ModelCheckpoint(tmp_path / "m-{val_loss:.2f}.fm")])
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint: 'val_loss' is not in the logs"):
        m.fit(X, y, epochs=2, verbose=0,
              callbacks=[fm.ModelCheckpoint(tmp_path / "m.fm", save_best_only=True)])
    assert list(tmp_path.iterdir()) == []
    m.fit(X, y, epochs=1, verbose=0, callbacks=[fm.ModelCheckpoint(
        tmp_path / "m-{epoch}-{loss:.4f}.fm", monitor="loss", save_best_only=True)])
    h = m.history.history
    assert [p.name for p in tmp_path.iterdir()] == [f"m-1-{h['loss'][0]:.4f}.fm"]


# ------------------------------------------------------------------ CSVLogger


def _read_csv(path, sep=","):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter=sep))


def test_csv_logger_rows_equal_history(tmp_path):
    m, X, y = _setup()
    path = tmp_path / "log.csv"
    h = m.fit(X, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[fm.CSVLogger(path)])
    rows = _read_csv(path)
    keys = sorted(h.history)
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(keys)
    assert rows[0] == ["epoch"] + keys and len(rows) == 5
    assert [int(r[0]) for r in rows[1:]] == h.epoch == [0, 1, 2, 3]
    for j, k in enumerate(keys, start=1):
        assert [float(r[j]) for r in rows[1:]] == h.history[k]     # exact: repr round-trips
    # A new fit starts the file over; append=True adds rows under the one header.
    m.fit(X, y, epochs=2, verbose=0, callbacks=[fm.CSVLogger(path)])
    h2 = m.fit(X, y, epochs=3, verbose=0, callbacks=[fm.CSVLogger(path, append=True)])
    rows = _read_csv(path)
    keys = sorted(h2.history)
    assert rows[0] == ["epoch"] + keys and len(rows) == 6
    assert [r[0] for r in rows[1:]] == ["0", "1", "0", "1", "2"]
    for j, k in enumerate(keys, start=1):
        assert [float(r[j]) for r in rows[3:]] == h2.history[k]


def test_csv_logger_separator_missing_keys_and_new_file_with_append(tmp_path):
    m, X, y = _setup()

    class DropAccuracy(fm.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                del logs["accuracy"]
            if epoch == 2:
                logs["extra"] = 1.0

    path = tmp_path / "new.csv"
    h = m.fit(X, y, epochs=3, verbose=0,
              callbacks=[DropAccuracy(), fm.CSVLogger(path, separator=";", append=True)])
    # History records after the callbacks (Keras' order): it has "extra" from epoch 2 and
    # accuracy only where it was not deleted; the header is the first epoch's logs.
    assert h.history["extra"] == [1.0] and len(h.history["accuracy"]) == 2
    keys = ["accuracy", "loss"]
    header = ";".join(["epoch"] + keys) + "\r\n"      # Keras writes csv.excel rows
    assert path.read_bytes().startswith(header.encode())
    rows = _read_csv(path, ";")
    j = 1 + keys.index("accuracy")
    assert [r[j] for r in rows[1:]] == [repr(h.history["accuracy"][0]), "NA",
                                        repr(h.history["accuracy"][1])]
    assert all(len(r) == len(keys) + 1 for r in rows) and len(rows) == 4


def test_csv_logger_file_is_complete_when_fit_diverges(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(1)], input_dim=3, seed=0)
    m.compile("mse", fm.SGD(lr=1e3))
    path = tmp_path / "log.csv"
    with pytest.raises(fm.DivergenceError) as info:
        m.fit(X, y, epochs=5, verbose=0, callbacks=[fm.CSVLogger(path)])
    rows, hist = _read_csv(path), info.value.history.history
    assert rows[0] == ["epoch"] + sorted(hist) and len(rows) - 1 == info.value.epoch >= 1
    j = rows[0].index("loss")
    assert [float(r[j]) for r in rows[1:]] == hist["loss"]


def test_terminate_on_nan_turns_divergence_into_a_clean_stop(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, 2.0, 3.0])

    def run(callbacks):
        m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(1)], input_dim=3, seed=0)
        m.compile("mse", fm.SGD(lr=1e3))
        return m, m.fit(X, y, epochs=5, verbose=0, callbacks=callbacks)

    with pytest.raises(fm.DivergenceError) as info:
        run([])
    m, h = run([fm.TerminateOnNaN()])
    assert f"Epoch {info.value.epoch + 1}: Invalid loss, terminating training" in \
        capsys.readouterr().out
    assert m.stop_training and h.history == info.value.history.history
    assert all(np.isfinite(w).all() for w in m.get_weights())


# ------------------------------------------------------------------ TerminateOnNaN


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_terminate_on_nan_stops_cleanly_on_a_logged_non_finite_loss(bad, capsys):
    m, X, y = _setup()
    h = m.fit(X, y, epochs=6, verbose=0,
              callbacks=[Scripted([1.0, 0.9, bad, 0.5, 0.5, 0.5], "loss"), fm.TerminateOnNaN()])
    assert h.epoch == [0, 1, 2] and m.stop_training is True
    assert "Epoch 3: Invalid loss, terminating training" in capsys.readouterr().out
    cb = fm.TerminateOnNaN()
    assert cb.on_epoch_end(0, {"loss": 0.3}) is False and cb.on_epoch_end(0, {}) is False


# ------------------------------------------------------------------ argument checks


@pytest.mark.parametrize("make, name", [
    (lambda: fm.ReduceLROnPlateau(factor=1.0), "factor"),
    (lambda: fm.ReduceLROnPlateau(factor=1.5), "factor"),
    (lambda: fm.ReduceLROnPlateau(factor=0.0), "factor"),
    (lambda: fm.ReduceLROnPlateau(factor="0.5"), "factor"),
    (lambda: fm.ReduceLROnPlateau(patience=-1), "patience"),
    (lambda: fm.ReduceLROnPlateau(patience=1.5), "patience"),
    (lambda: fm.ReduceLROnPlateau(cooldown=-1), "cooldown"),
    (lambda: fm.ReduceLROnPlateau(min_lr=-1e-3), "min_lr"),
    (lambda: fm.ReduceLROnPlateau(min_lr=math.inf), "min_lr"),
    (lambda: fm.ReduceLROnPlateau(min_delta=-1.0), "min_delta"),
    (lambda: fm.ReduceLROnPlateau(mode="bigger"), "mode"),
    (lambda: fm.ReduceLROnPlateau(monitor=3), "monitor"),
    (lambda: fm.ReduceLROnPlateau(verbose=-1), "verbose"),
    (lambda: fm.ModelCheckpoint(3), "filepath"),
    (lambda: fm.ModelCheckpoint("m-{epoch.fm"), "filepath"),
    (lambda: fm.ModelCheckpoint("m-{}.fm"), "filepath"),
    (lambda: fm.ModelCheckpoint("m.fm", save_freq=100), "save_freq"),
    (lambda: fm.ModelCheckpoint("m.fm", save_freq="batch"), "save_freq"),
    (lambda: fm.ModelCheckpoint("m.fm", mode="up"), "mode"),
    (lambda: fm.ModelCheckpoint("m.fm", save_best_only="yes"), "save_best_only"),
    (lambda: fm.ModelCheckpoint("m.fm", monitor=None), "monitor"),
    (lambda: fm.ModelCheckpoint("m.fm", verbose=True), "verbose"),
    (lambda: fm.CSVLogger(None), "filename"),
    (lambda: fm.CSVLogger("a.csv", separator=""), "separator"),
    (lambda: fm.CSVLogger("a.csv", separator=";;"), "separator"),
    (lambda: fm.CSVLogger("a.csv", separator='"'), "separator"),
    (lambda: fm.CSVLogger("a.csv", separator=1), "separator"),
    (lambda: fm.CSVLogger("a.csv", append="no"), "append"),
])
def test_callback_argument_errors_name_the_argument(make, name):
    with pytest.raises(fm.InvalidParameterError, match=f"'{name}'"):
        make()


def test_csv_logger_keeps_val_columns_with_validation_freq(tmp_path):
    m, X, y = _setup()
    path = tmp_path / "freq.csv"
    h = m.fit(X, y, epochs=4, verbose=0, validation_split=0.25, validation_freq=2,
              callbacks=[fm.CSVLogger(path)])
    rows = _read_csv(path)
    assert rows[0] == ["epoch"] + sorted(h.history)
    j = rows[0].index("val_loss")
    assert [r[j] for r in rows[1:]] == ["NA", repr(h.history["val_loss"][0]), "NA",
                                        repr(h.history["val_loss"][1])]
    # no validation at all: no val_ columns
    m.fit(X, y, epochs=1, verbose=0, callbacks=[fm.CSVLogger(tmp_path / "plain.csv")])
    assert not any(k.startswith("val_") for k in _read_csv(tmp_path / "plain.csv")[0])
