"""verbose=1 progress: a bar per epoch over the samples, fed from C++ while the epoch runs."""
import sys
import time

import numpy as np
import pytest

import fastmlp as fm


def _model_and_data(n=20000):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    m = fm.Sequential([fm.Dense(64, activation="relu"), fm.Dense(2)], input_dim=10, seed=0)
    m.compile(loss="cross_entropy", optimizer=fm.Adam())
    return m, X, y


def test_fit_epoch_reports_running_totals():
    m, X, y = _model_and_data(n=100000)
    m.fit(X[:64], y[:64], epochs=1, verbose=0)  # build
    seen = []

    def progress(totals):
        seen.append((totals.count, totals.loss_sum, totals.correct, totals.weight))
        if len(seen) < 3:
            time.sleep(0.021)  # make the next poll due at once, so several reports arrive

    r = m._net.fit_epoch(X, y.astype(np.int32), 1, True, 5, progress=progress)
    assert len(seen) >= 2
    counts = [c for c, _, _, _ in seen]
    assert counts == sorted(counts) and counts[-1] <= r.totals.count == len(X)
    for count, loss_sum, correct, weight in seen:
        assert 0 <= correct <= count == weight and np.isfinite(loss_sum)


def test_progress_callback_error_propagates():
    m, X, y = _model_and_data(n=100000)
    m.fit(X[:64], y[:64], epochs=1, verbose=0)

    def boom(*args):
        raise RuntimeError("from the callback")

    y32 = y.astype(np.int32)
    with pytest.raises(RuntimeError, match="from the callback"):
        m._net.fit_epoch(X, y32, 1, True, 0, progress=boom)  # 100,000 steps: polled > 20 ms in
    with pytest.raises(ValueError, match="progress"):
        m._net.fit_epoch(X, y32, 8, True, 0, progress=3)


def test_verbose_1_draws_a_bar_per_epoch_with_metrics(capsys):
    pytest.importorskip("tqdm")
    m, X, y = _model_and_data()
    m.fit(X, y, epochs=2, batch_size=32, validation_split=0.1, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err
    assert "loss=" in err and "accuracy=" in err and "val_accuracy=" in err
    assert "18000/18000" in err


def test_verbose_1_without_tqdm_prints_text(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    m, X, y = _model_and_data(n=2000)
    m.fit(X, y, epochs=2, batch_size=32, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2 [" in out and "Epoch 2/2 [" in out
    assert "loss: " in out and "accuracy: " in out
