"""plot_history: learning curves to a PNG with the Agg backend."""
import sys

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from fastmlp.plotting import plot_history  # noqa: E402

LOGS = {
    "loss": [1.0, 0.6, 0.4, 0.3],
    "accuracy": [0.5, 0.7, 0.8, 0.9],
    "val_loss": [1.1, 0.7, 0.5, 0.55],
    "val_accuracy": [0.45, 0.65, 0.78, 0.8],
}


class FakeHistory:
    def __init__(self, history):
        self.history = history


def test_writes_png_with_two_panels(tmp_path):
    path = tmp_path / "curves.png"
    fig = plot_history(FakeHistory(LOGS), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    # train + dev on each panel (the loss panel also marks the best dev epoch)
    assert len(axes[0].get_lines()) == 3 and len(axes[1].get_lines()) == 2


def test_accepts_plain_dict_and_regression_history(tmp_path):
    fig = plot_history({"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}, tmp_path / "r.png")
    assert [ax.get_title() for ax in fig.get_axes()] == ["loss"]


def test_without_path_returns_pyplot_figure():
    import matplotlib.pyplot as plt

    fig = plot_history(LOGS)
    try:
        assert len(fig.get_axes()) == 2
    finally:
        plt.close(fig)


def test_rejects_empty_and_wrong_types(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plot_history({}, tmp_path / "x.png")
    with pytest.raises(TypeError, match="history"):
        plot_history([1, 2, 3])


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"fastmlp\[plot\]"):
        plot_history(LOGS)


def test_val_curves_sit_at_the_epochs_they_were_measured(tmp_path):
    import numpy as np

    import fastmlp as fm

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    m = fm.Sequential([fm.Dense(4, activation="relu"), fm.Dense(2)], input_dim=3, seed=0)
    m.compile("cross_entropy", "adam")
    h = m.fit(X, y, epochs=6, initial_epoch=1, validation_split=0.2, validation_freq=2,
              verbose=0)
    assert h.logged_epochs["loss"] == [1, 2, 3, 4, 5]
    assert h.logged_epochs["val_loss"] == [1, 3, 5]
    fig = plot_history(h, tmp_path / "c.png")
    lines = {ln.get_label(): list(ln.get_xdata()) for ln in fig.get_axes()[0].get_lines()}
    assert lines["train"] == [2, 3, 4, 5, 6] and lines["dev"] == [2, 4, 6]
    best = 2 + 2 * int(np.nanargmin(h.history["val_loss"]))
    assert lines[f"best dev (epoch {best})"] == [best, best]
