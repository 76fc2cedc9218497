"""EarlyStopping, LearningRateScheduler, custom callbacks."""
import numpy as np
import pytest

import fastmlp as fm


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=80) > 0).astype(int)
    m = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dense(2)], input_dim=4, seed=seed)
    m.compile(loss="cross_entropy", optimizer=fm.Adam(lr=0.05))
    return m, X, y


class Scripted(fm.Callback):
    """Overrides val_loss with a scripted sequence (so EarlyStopping is deterministic)."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        return False


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
