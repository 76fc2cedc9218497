"""fit: history, validation split/data, Standardize, progress output, Ctrl-C, divergence,
augment, input conversion."""
from types import SimpleNamespace

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.trainers.validation import split_validation

from conftest import NetStandIn, make_data, make_mlp


def _data(n=120, d=4, k=3, seed=0):
    return make_data("separable", n, d, k, seed)


def _model(d=4, k=3, dtype="float32", seed=0, loss="cross_entropy", opt=None, first=()):
    return make_mlp(k=k, d=d, dtype=dtype, seed=seed, loss=loss, optimizer=opt, first=first)


def test_history_keys_and_learning():
    X, y = _data()
    m = _model()
    h = m.fit(X, y, epochs=15, batch_size=16, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 15 for v in h.history.values()) and h.epoch == list(range(15))
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["accuracy"][-1] > 0.8
    assert m.history is h and "History" in repr(h)


def test_validation_data_and_regression_keys():
    X, y = _data()
    m = _model(k=1, loss="mse")
    t = X[:, :1] * 2.0
    h = m.fit(X[:100], t[:100], epochs=3, validation_data=(X[100:], t[100:]), verbose=0)
    assert set(h.history) == {"loss", "val_loss"}
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(X[100:], t[100:])["loss"])


def test_split_validation_is_stratified_and_shuffled():
    labels = np.array([0] * 90 + [1] * 10)
    tr, va = split_validation(100, 0.2, seed=0, labels=labels)
    assert len(va) == 20 and (labels[va] == 1).sum() == 2
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(100))
    assert va.max() < 99 or va.min() > 0 or len(set(np.diff(va))) > 1   # not just the tail
    with pytest.raises(ValueError, match="validation_split"):
        split_validation(1, 0.5, 0, None)


def test_standardize_learns_from_fit_data_then_freezes():
    X, y = _data()
    X = X * [1, 10, 100, 0] + [5, -3, 0, 7]       # last column constant
    m = _model(first=[fm.Standardize()])
    m.fit(X, y, epochs=1, verbose=0)
    mean, std = m.get_weights()[:2]
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std[:3], X.std(axis=0)[:3], rtol=1e-5)
    assert std[3] == 1.0
    m.fit(X * 3, y, epochs=1, verbose=0)            # frozen
    np.testing.assert_array_equal(m.get_weights()[0], mean)


def test_standardize_uses_training_part_of_validation_split():
    X, y = _data()
    m = _model(first=[fm.Standardize()])
    m.fit(X, y, epochs=1, validation_split=0.5, verbose=0)
    tr, _ = split_validation(len(X), 0.5, m.seed, y)
    np.testing.assert_allclose(m.get_weights()[0], X[tr].mean(axis=0), rtol=1e-5)


def test_verbose_modes(capsys):
    X, y = _data(n=40)
    _model().fit(X, y, epochs=2, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    _model().fit(X, y, epochs=2, verbose=2, validation_split=0.2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "val_accuracy" in lines[1]
    _model().fit(X, y, epochs=2, verbose=1)
    out = capsys.readouterr()
    assert "loss" in out.out + out.err


def test_verbose_1_without_tqdm(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y = _data(n=40)
    _model().fit(X, y, epochs=3, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "loss:" in out


def test_keyboard_interrupt_between_epochs_returns_history():
    X, y = _data()

    class Interrupt(fm.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    h = _model().fit(X, y, epochs=10, callbacks=[Interrupt()], verbose=0)
    assert len(h.history["loss"]) == 3


def test_interrupted_epoch_stops(monkeypatch):
    X, y = _data()
    m = _model()
    m.build()

    def interrupted_epoch(net, *a, **k):
        r = net.fit_epoch(*a, **k)
        return SimpleNamespace(totals=r.totals, nonfinite=r.nonfinite, interrupted=True)

    m._net = NetStandIn(m._net, fit_epoch=interrupted_epoch)
    h = m.fit(X, y, epochs=5, verbose=0)
    assert len(h.history["loss"]) == 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_divergence_error(dtype):
    X, y = _data(n=200)
    m = _model(k=1, loss="mse", dtype=dtype, opt=fm.SGD(lr=1e4))
    with pytest.raises(fm.DivergenceError, match=r"epoch \d+.*lower learning rate") as info:
        m.fit(X * 1e3, y * 1e3, epochs=30, batch_size=20, verbose=0)
    assert isinstance(info.value, FloatingPointError) and info.value.epoch is not None
    assert all(np.isfinite(w).all() for w in m.get_weights())


class _EpochStart(fm.Callback):
    """Records the weights, optimizer state and step each epoch starts from."""

    def on_epoch_begin(self, epoch, logs=None):
        self.weights = [w.copy() for w in self.model.get_weights()]
        self.opt = [a.copy() for a in self.model._net.optimizer_state()]
        self.step = self.model._net.step
        self.epoch = epoch


def _diverging_model(dtype):
    # BatchNorm: its running statistics must roll back too; Adam: so does its state.
    m = fm.Sequential([fm.Dense(16, activation="relu"), fm.BatchNorm(), fm.Dense(1)], input_dim=4,
                      dtype=dtype, seed=0)
    m.compile(loss="mse", optimizer=fm.SGD(lr=1e3, momentum=0.9))
    return m


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", ["fit_epoch", "augment"])
def test_divergence_rolls_back_to_the_start_of_the_epoch(dtype, path):
    """After DivergenceError the model holds exactly what the diverged epoch started from
    (weights, running statistics, optimizer state, step), so predict is finite; both training
    paths share the one rollback in C++."""
    X, y = _data(n=200)
    m = _diverging_model(dtype)
    start = _EpochStart()
    augment = (lambda Xb, rng: Xb) if path == "augment" else None
    with pytest.raises(fm.DivergenceError) as info:
        m.fit(X * 1e3, (y * 1e3).astype(float), epochs=40, batch_size=20, verbose=0,
              callbacks=[start], augment=augment)
    assert info.value.epoch == start.epoch
    for got, want in zip(m.get_weights(), start.weights):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(m._net.optimizer_state(), start.opt):
        np.testing.assert_array_equal(got, want)
    assert m._net.step == start.step
    assert np.isfinite(m.predict(X)).all()


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_epoch_totals_are_the_sum_of_step_totals(loss):
    """fit_epoch's Totals equal train_batch's per-batch Totals added in order (the totals one
    epoch reported as a dict before: loss, correct, weight, data_sum, abs_sum, count)."""
    X, y = _data(n=50)
    k = 1 if loss == "mse" else 3
    a, b = _model(k=k, loss=loss, dtype="float64"), _model(k=k, loss=loss, dtype="float64")
    yt = y.astype(np.int32) if loss != "mse" else y[:, None].astype(np.float64)
    for m in (a, b):
        m.build()
        m._net.track_abs_error = loss == "mse"
    ep = a._net.fit_epoch(X, yt, 16, False, 0)
    total = fm._core.Totals()
    for i in range(0, 50, 16):
        total.add(b._net.train_batch(X[i:i + 16], yt[i:i + 16], details=True))
    assert ep.totals.as_dict() == total.as_dict()
    assert total.count == 50 and total.loss == total.loss_sum / 50
    assert (total.correct == -1) == (loss == "mse") and (total.abs_sum > 0) == (loss == "mse")
    ev = a._net.evaluate(X, yt, 7)
    assert ev.count == 50 and ev.weight == 50
    assert ev.loss == a.evaluate(X, y if loss != "mse" else yt)["loss"]


def test_nonfinite_train_batch_changes_nothing():
    """A step whose loss is not finite makes no update and undoes its BatchNorm statistics."""
    m = _diverging_model("float64")
    X, _ = _data(n=20)
    m.build()
    before = [w.copy() for w in m.get_weights()]
    bad = np.full((20, 1), np.inf)
    assert np.isnan(m._net.train_batch(X, bad))
    for got, want in zip(m.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_augment_path_called_per_batch_and_learns():
    X, y = _data()
    calls = []

    def augment(Xb, rng):
        calls.append(len(Xb))
        return Xb + rng.normal(scale=0.01, size=Xb.shape)

    m = _model()
    h = m.fit(X, y, epochs=4, batch_size=32, augment=augment, verbose=0)
    assert calls[:4] == [32, 32, 32, 24] and len(calls) == 16
    assert h.history["loss"][-1] < h.history["loss"][0] and "accuracy" in h.history
    with pytest.raises(ValueError, match="augment"):
        m.fit(X, y, epochs=1, augment=lambda Xb, rng: Xb[:, :2], verbose=0)
    with pytest.raises(ValueError, match="augment"):
        m.fit(X, y, epochs=1, augment=lambda Xb, rng: Xb * np.nan, verbose=0)


def test_inputs_converted_once_and_layouts_agree():
    X, y = _data()
    Xc = np.ascontiguousarray(X, dtype=np.float32)
    seen = []
    m = _model()
    m.build()

    def spied_epoch(net, Xa, ya, *a, **k):
        seen.append(Xa)
        return net.fit_epoch(Xa, ya, *a, **k)

    m._net = NetStandIn(m._net, fit_epoch=spied_epoch)
    m.fit(Xc, y, epochs=2, verbose=0)
    assert seen[0] is Xc and seen[1] is Xc         # no copy of an already-converted array
    a, b = _model(), _model()
    a.fit(np.asfortranarray(X), list(y), epochs=2, verbose=0)
    b.fit(Xc, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(a.predict(X), b.predict(Xc))


def test_labels_as_float_column_and_probabilities():
    X, y = _data()
    a, b, c = _model(), _model(), _model()
    a.fit(X, y, epochs=2, verbose=0, shuffle=False)
    b.fit(X, y.astype(float).reshape(-1, 1), epochs=2, verbose=0, shuffle=False)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    c.fit(X, np.eye(3)[y], epochs=2, verbose=0, shuffle=False)   # one-hot probabilities
    np.testing.assert_allclose(a.get_weights()[0], c.get_weights()[0], rtol=1e-4, atol=1e-6)


def test_binary_and_multilabel():
    X, y = _data()
    m = _model(k=1, loss="binary_cross_entropy")
    h = m.fit(X, (y > 0).astype(int), epochs=10, verbose=0)
    assert h.history["accuracy"][-1] > 0.8
    p = m.predict(X)
    assert p.shape == (120, 1) and p.min() >= 0 and p.max() <= 1
    Y = np.stack([y > 0, X[:, 2] > 0], axis=1).astype(float)
    m2 = _model(k=2, loss="binary_cross_entropy")
    h2 = m2.fit(X, Y, epochs=20, verbose=0)
    assert 0.0 <= h2.history["accuracy"][-1] <= 1.0
    acc = ((m2.predict(X) > 0.5) == (Y > 0.5)).mean()
    assert m2.evaluate(X, Y)["accuracy"] == pytest.approx(acc)


def test_epochs_zero_and_batch_larger_than_data():
    X, y = _data(n=10)
    m = _model()
    before = m.get_weights()
    h = m.fit(X, y, epochs=0, verbose=0)
    assert h.history == {}
    np.testing.assert_array_equal(m.get_weights()[0], before[0])
    h = m.fit(X, y, epochs=1, batch_size=1000, verbose=0)
    assert len(h.history["loss"]) == 1


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGINT") or
                    __import__("sys").platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_fit_returns_history_promptly():
    import os
    import signal
    import threading
    import time

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20000, 50)), rng.integers(0, 5, 20000)
    m = fm.Sequential([fm.Dense(256, activation="relu"), fm.Dense(256, activation="relu"),
                       fm.Dense(5)], input_dim=50, seed=0)
    m.compile(loss="cross_entropy", optimizer="adam")
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    h = m.fit(X, y, epochs=500, batch_size=64, verbose=0)
    timer.join()
    assert time.perf_counter() - t0 < 30 and len(h.epoch) < 500
    assert all(np.isfinite(w).all() for w in m.get_weights())


@pytest.mark.parametrize("loss, k", [("cross_entropy", 3), ("binary_cross_entropy", 2),
                                     ("mse", 2)])
def test_evaluate_batch_size_sets_the_rows_per_pass(loss, k):
    X, y = _data(n=101)
    targets = {"cross_entropy": y, "binary_cross_entropy": np.eye(3)[y][:, :2],
               "mse": X[:, :2]}[loss]
    m = fm.Sequential([fm.Dense(8, activation="tanh", l2=0.01), fm.Dense(k)], input_dim=4,
                      dtype="float64", seed=0)
    m.compile(loss=loss, optimizer="sgd", l1=0.001,
              metrics=["mae", "rmse"] if loss == "mse" else None)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    w[:7] = 0.0     # with batch_size=7 the first pass has no weight at all
    whole = m.evaluate(X, targets, sample_weight=w)
    rows_seen = []

    def counted(net, X, y, batch_size, sample_weight=None):
        rows_seen.append(len(X))
        return net.evaluate(X, y, batch_size, sample_weight)

    m._net = NetStandIn(m._net, evaluate=counted)
    for batch_size in (1, 7, 100, 101, 1000):
        rows_seen.clear()
        part = m.evaluate(X, targets, batch_size=batch_size, sample_weight=w)
        assert part.keys() == whole.keys()
        for key in whole:   # the same sums, added in another order
            assert part[key] == pytest.approx(whole[key], rel=1e-12, abs=1e-15)
        rows = min(batch_size, len(X))
        assert rows_seen == [rows] * (len(X) // rows) + ([len(X) % rows] if len(X) % rows
                                                            else [])
    with pytest.raises(ValueError, match="batch_size"):
        m.evaluate(X, targets, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        m.evaluate(X, targets, batch_size=2.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_batch_size_sets_the_rows_per_pass(dtype):
    X, _ = _data(n=101)
    m = _model(dtype=dtype, first=[fm.BatchNorm()])
    whole = m.predict(X)
    rows_seen = []

    def counted(net, X, *args):
        rows_seen.append(len(X))
        return net.predict(X, *args)

    m._net = NetStandIn(m._net, predict=counted)
    for batch_size in (1, 7, 101, 1000):
        rows_seen.clear()
        np.testing.assert_allclose(m.predict(X, batch_size=batch_size), whole,
                                   rtol=1e-6 if dtype == "float32" else 1e-14)
        rows = min(batch_size, len(X))
        assert sum(rows_seen) == len(X) and max(rows_seen) == rows
    for bad in (0, 2.5, "8"):
        with pytest.raises(ValueError, match="batch_size"):
            m.predict(X, batch_size=bad)

