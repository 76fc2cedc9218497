"""compile(metrics=...): Keras' accuracy names for the classification losses, and mae / mse /
rmse for loss "mse", computed in the engine during the epoch.

Semantics (Keras' Mean metrics): over an epoch (or evaluate's data),
mae = sum_i w_i * sum_j |e_ij| / (sum_i w_i * k), mse the same with e**2 (the data loss without
the L1/L2 penalty), rmse = sqrt(mse); w = 1 without sample_weight. Training values come from
the forward pass each batch trains on, i.e. the weights before that batch's update."""
import math
import pickle
from types import SimpleNamespace

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.trainers.progress import Progress

from conftest import make_data, make_mlp

REG_METRICS = ["mae", "mse", "rmse"]
ACCURACY_NAMES = ["accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
                  "binary_accuracy"]
TOL = {"float32": dict(rtol=2e-5, atol=0), "float64": dict(rtol=1e-12, atol=0)}


# ---------------------------------------------------------------- helpers

def _regressor(k=3, d=5, dtype="float64", seed=0, l1=0.0, l2=0.0, metrics=REG_METRICS, lr=0.05):
    return make_mlp((9,), k, d, "tanh", dtype, seed, "mse", fm.SGD(lr=lr), bias_noise=0.3,
                    l1=l1, l2=l2, metrics=metrics)


def _data(n=37, d=5, k=3, seed=1):
    return make_data("values", n, d, k, seed)


def _weights(n, seed=2):
    """Non-uniform fractional weights, every fifth one zero."""
    w = np.random.default_rng(seed).uniform(0.1, 3.0, n)
    w[::5] = 0.0
    return w


def _sums(pred, y, w):
    """(sum_i w_i sum_j |e_ij|, sum_i w_i sum_j e_ij**2, sum_i w_i * k) in float64."""
    pred = np.asarray(pred, np.float64)
    e = pred - np.asarray(y, np.float64).reshape(pred.shape)
    w = np.ones(len(e)) if w is None else np.asarray(w, np.float64)
    return (w * np.abs(e).sum(1)).sum(), (w * (e * e).sum(1)).sum(), w.sum() * e.shape[1]


def _expected(abs_sum, sq_sum, elements):
    return {"mae": abs_sum / elements, "mse": sq_sum / elements,
            "rmse": math.sqrt(sq_sum / elements)}


def _cast(y, dtype):
    """y as the model sees it (the targets are converted to its dtype)."""
    return np.asarray(y).astype(dtype)


# ---------------------------------------------------------------- training values vs NumPy

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [1, 3])
def test_one_full_batch_matches_numpy_on_the_pre_update_predictions(dtype, weighted, k):
    X, y = _data(k=k)
    w = _weights(len(X)) if weighted else None
    m = _regressor(k=k, dtype=dtype)
    pred = m.predict(X)    # no dropout/BatchNorm: the forward the step trains on
    h = m.fit(X, y, epochs=1, batch_size=len(X), shuffle=False, verbose=0, sample_weight=w)
    want = _expected(*_sums(pred, _cast(y, dtype), w))
    assert list(h.history) == ["loss"] + REG_METRICS
    for key in REG_METRICS:
        np.testing.assert_allclose(h.history[key][0], want[key], **TOL[dtype])


@pytest.mark.parametrize("weighted", [False, True])
def test_epoch_value_is_the_weighted_running_mean_over_batches(weighted):
    """Batches of 10, 10, 10, 7 rows: each batch's sums from the weights before its update,
    divided once by the epoch's weight (Keras' Mean, not a mean of batch means)."""
    X, y = _data(n=37)
    w = _weights(len(X)) if weighted else None
    m, twin = _regressor(), _regressor()
    totals = np.zeros(3)
    for s in range(0, len(X), 10):
        wb = None if w is None else w[s:s + 10]
        totals += _sums(twin.predict(X[s:s + 10]), y[s:s + 10], wb)
        twin.train_on_batch(X[s:s + 10], y[s:s + 10], sample_weight=wb)
    h = m.fit(X, y, epochs=1, batch_size=10, shuffle=False, verbose=0, sample_weight=w)
    want = _expected(*totals)
    for key in REG_METRICS:
        np.testing.assert_allclose(h.history[key][0], want[key], rtol=1e-12)
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in m.get_weights()]),
                                  np.concatenate([a.ravel() for a in twin.get_weights()]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mse_metric_is_the_loss_without_the_penalty(dtype):
    X, y = _data()
    plain = _regressor(dtype=dtype)
    h = plain.fit(X, y, epochs=3, batch_size=len(X), shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["mse"], h.history["loss"], rtol=1e-6 if dtype ==
                               "float32" else 1e-14)
    ev = plain.evaluate(X, y)
    np.testing.assert_allclose(ev["mse"], ev["loss"], rtol=1e-14)

    m = _regressor(dtype=dtype, l2=0.3, l1=0.01)
    penalty = m._penalty()    # the step's penalty: the weights before its update
    h = m.fit(X, y, epochs=1, batch_size=len(X), shuffle=False, verbose=0)
    assert penalty > 0.01
    np.testing.assert_allclose(h.history["loss"][0] - h.history["mse"][0], penalty,
                               rtol=1e-5 if dtype == "float32" else 1e-12)
    ev = m.evaluate(X, y)
    np.testing.assert_allclose(ev["loss"] - ev["mse"], m._penalty(),
                               rtol=1e-5 if dtype == "float32" else 1e-12)


# ---------------------------------------------------------------- evaluate and validation

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
def test_evaluate_matches_numpy(dtype, weighted):
    X, y = _data(n=300)    # more than one 256-row inference block
    w = _weights(len(X)) if weighted else None
    m = _regressor(dtype=dtype)
    m.fit(X, y, epochs=2, batch_size=16, verbose=0)
    got = m.evaluate(X, y, sample_weight=w)
    want = _expected(*_sums(m.predict(X), _cast(y, dtype), w))
    assert list(got) == ["loss"] + REG_METRICS
    for key in REG_METRICS:
        np.testing.assert_allclose(got[key], want[key], **TOL[dtype])


def test_evaluate_reports_the_metrics_in_compile_order_without_repeats():
    X, y = _data()
    m = _regressor(metrics=["root_mean_squared_error", "mean_absolute_error", "rmse"])
    assert list(m.evaluate(X, y)) == ["loss", "rmse", "mae"]
    assert m.get_config()["compile"]["metrics"] == ["rmse", "mae"]
    m.compile("mse", "sgd")
    assert list(m.evaluate(X, y)) == ["loss"]


@pytest.mark.parametrize("weighted", [False, True])
def test_val_metrics_equal_evaluate(weighted):
    X, y = _data(n=60)
    Xv, yv = _data(n=23, seed=5)
    wv = _weights(len(Xv), seed=6) if weighted else None
    m = _regressor()
    h = m.fit(X, y, epochs=2, batch_size=16, verbose=0, validation_data=(Xv, yv, wv))
    assert list(h.history) == ["loss"] + REG_METRICS + ["val_loss"] + ["val_" + k
                                                                       for k in REG_METRICS]
    ev = m.evaluate(Xv, yv, sample_weight=wv)
    for key, value in ev.items():
        assert h.history["val_" + key][-1] == value


def test_validation_split_reports_val_metrics():
    X, y = _data(n=60)
    m = _regressor(metrics=["mae"])
    h = m.fit(X, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(np.isfinite(v) and v > 0 for v in h.history["val_mae"])


# ---------------------------------------------------------------- the engine's sums

def test_abs_error_sum_is_tracked_only_when_mae_is_asked_for():
    X, y = _data()
    m = _regressor(metrics=["mse", "rmse"])
    assert m._net.track_abs_error is False
    r = m._net.fit_epoch(X, y, 8, False, 0).totals
    assert r.abs_sum == 0.0 and r.data_sum > 0
    m.compile("mse", "sgd", metrics=["mae"])
    assert m._net.track_abs_error is True
    r = m._net.fit_epoch(X, y, 8, False, 0).totals
    assert r.abs_sum > 0
    ev = m._net.evaluate(X, y)
    assert ev.correct == -1 and ev.weight == len(X) and ev.abs_sum > 0
    np.testing.assert_allclose(ev.data_sum / (ev.weight * 3), ev.loss, rtol=1e-14)


def test_train_batch_details_match_the_float_return():
    X, y = _data()
    a, b = _regressor(), _regressor()
    value = a._net.train_batch(X, y)
    d = b._net.train_batch(X, y, details=True)
    assert d.loss == value and d.count == len(X) and d.weight == len(X)
    assert d.correct == -1 and d.abs_sum > 0
    np.testing.assert_allclose(d.data_sum / (len(X) * 3), value, rtol=1e-14)


def test_metrics_of_a_model_compiled_before_it_is_built():
    """compile() before input_dim is known: the engine made by the first fit tracks them."""
    X, y = _data()
    m = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(3)], seed=0, dtype="float64")
    m.compile("mse", fm.SGD(lr=0.01), metrics=["mae"])
    h = m.fit(X, y, epochs=1, batch_size=len(X), verbose=0)
    assert h.history["mae"][0] > 0
    assert m.evaluate(X, y)["mae"] == pytest.approx(
        _expected(*_sums(m.predict(X), y, None))["mae"], rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_augment_path_reports_the_same_metrics(weighted):
    X, y = _data()
    w = _weights(len(X)) if weighted else None
    a, b = _regressor(), _regressor()
    ha = a.fit(X, y, epochs=2, batch_size=10, shuffle=False, verbose=0, sample_weight=w)
    hb = b.fit(X, y, epochs=2, batch_size=10, shuffle=False, verbose=0, sample_weight=w,
               augment=lambda Xb, rng: Xb)
    assert list(ha.history) == list(hb.history)
    for key in ha.history:
        np.testing.assert_allclose(hb.history[key], ha.history[key], rtol=1e-14)


def test_verbose_2_prints_the_metrics(capsys):
    X, y = _data()
    _regressor().fit(X, y, epochs=1, batch_size=8, verbose=2, validation_split=0.2)
    out = capsys.readouterr().out
    assert "mae:" in out and "rmse:" in out and "val_mse:" in out


def test_progress_callback_gets_the_running_sums():
    X, y = _data()
    m = _regressor()
    bar = Progress(1, 1, len(X), m._metric_logs)
    logs = bar._running(SimpleNamespace(count=10, loss=0.5, correct=-1.0, weight=10.0,
                                        data_sum=4.0, abs_sum=7.0))
    assert logs == {"loss": 0.5, "mae": 7.0 / 30, "mse": 4.0 / 30, "rmse": math.sqrt(4.0 / 30)}


# ---------------------------------------------------------------- accuracy names

def _classifier(loss, seed=0, metrics=None):
    return make_mlp(hidden=(8,), loss=loss, seed=seed, metrics=metrics)


@pytest.mark.parametrize("name", ACCURACY_NAMES + ["ACC"])
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_accuracy_names_report_accuracy(name, loss):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    y = rng.integers(0, 3, 40) if loss == "cross_entropy" else rng.integers(0, 2, (40, 3))
    plain, named = _classifier(loss), _classifier(loss, metrics=[name, "accuracy"])
    assert named.get_config()["compile"]["metrics"] == ["accuracy"]
    hp = plain.fit(X, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    hn = named.fit(X, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert hn.history == hp.history
    assert list(hn.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert named.evaluate(X, y) == plain.evaluate(X, y)


def test_the_usual_keras_compile_line_works_end_to_end():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    model = fm.Sequential([fm.Dense(16, activation="relu"), fm.Dense(3)], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=5, batch_size=32, validation_split=0.2, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert history.history["accuracy"][-1] > history.history["accuracy"][0]
    result = model.evaluate(X, y)
    assert set(result) == {"loss", "accuracy"} and 0.5 < result["accuracy"] <= 1.0
    assert model.predict(X).shape == (200, 3)


# ---------------------------------------------------------------- bad values

@pytest.mark.parametrize("metrics", ["accuracy", "mae", {"out": ["mae"]}, 3, np.array(["mae"])])
def test_metrics_must_be_a_list(metrics):
    m = _classifier("cross_entropy")
    with pytest.raises(TypeError, match="metrics.*list.*'accuracy'.*'mae'"):
        m.compile("mse", "adam", metrics=metrics)
    with pytest.raises(ValueError, match="metrics"):
        m.compile("mse", "adam", metrics=metrics)


@pytest.mark.parametrize("name", ["f1", "auc", "", None, 1, len, "mean_squared_logarithmic_error"])
def test_unknown_metric_names_are_refused_with_the_valid_ones(name):
    m = _classifier("cross_entropy")
    with pytest.raises(ValueError, match=r"metrics.*'accuracy'.*'rmse'"):
        m.compile("mse", "adam", metrics=["mae", name])


def test_accuracy_needs_a_classification_loss():
    m = _regressor()
    with pytest.raises(ValueError, match="metrics.*needs a classification loss"):
        m.compile("mse", "adam", metrics=["mae", "accuracy"])
    # the failed compile changed nothing
    assert m.loss == "mse" and m.get_config()["compile"]["metrics"] == REG_METRICS
    assert m._net.track_abs_error is True


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_regression_metrics_need_loss_mse(loss):
    with pytest.raises(ValueError, match="metrics.*'mae'.*needs loss 'mse'"):
        _classifier(loss, metrics=["mae"])


# ---------------------------------------------------------------- persistence

def _assert_same_metrics(a, b, X, y):
    assert b.get_config()["compile"]["metrics"] == a.get_config()["compile"]["metrics"]
    assert b._net.track_abs_error == a._net.track_abs_error
    assert b.evaluate(X, y) == a.evaluate(X, y)


def test_save_load_pickle_and_config_keep_metrics(tmp_path):
    X, y = _data()
    m = _regressor(metrics=["mean_absolute_error", "rmse"])
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "m.fmlp"
    m.save(path)
    loaded = fm.load(path)
    _assert_same_metrics(m, loaded, X, y)
    assert list(loaded.evaluate(X, y)) == ["loss", "mae", "rmse"]
    _assert_same_metrics(m, pickle.loads(pickle.dumps(m)), X, y)
    again = fm.Sequential.from_config(m.get_config())
    assert again.get_config()["compile"]["metrics"] == ["mae", "rmse"]
    h = loaded.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert list(h.history) == ["loss", "mae", "rmse"]


def test_files_saved_before_metrics_still_load(tmp_path):
    """A compile config without the 'metrics' key (files from before it existed)."""
    X, y = _data()
    m = _regressor()
    cfg = m.get_config()
    del cfg["compile"]["metrics"]
    m.get_config = lambda: cfg     # what model_to_bytes writes
    m.save(tmp_path / "old.fmlp")
    loaded = fm.load(tmp_path / "old.fmlp")
    assert loaded.get_config()["compile"]["metrics"] == []
    assert list(loaded.evaluate(X, y)) == ["loss"]
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))
    assert list(fm.Sequential.from_config(cfg).get_config()["compile"]["metrics"]) == []


def test_a_damaged_metrics_entry_is_a_load_error(tmp_path):
    m = _regressor()
    cfg = m.get_config()
    cfg["compile"]["metrics"] = ["nope"]
    m.get_config = lambda: cfg
    m.save(tmp_path / "bad.fmlp")
    with pytest.raises(ValueError, match="metrics"):
        fm.load(tmp_path / "bad.fmlp")

