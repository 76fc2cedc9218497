"""``History``: what ``fit`` returns, one value per epoch and key."""
from __future__ import annotations

from fastmlp.callbacks.callback import Callback
from fastmlp.diagnosis import diagnose
from fastmlp.plotting import plot_history


class History(Callback):
    """What ``fit`` returns: ``history`` maps ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` (as available) to one value per epoch; ``epoch`` lists the epochs."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.logged_epochs: dict[str, list[int]] = {}
        self.params: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
            # which epochs each key was logged in (validation_freq > 1 skips val_ keys)
            self.logged_epochs.setdefault(k, []).append(epoch)
        return False

    def plot(self, path=None):
        """Learning curves (train and dev loss, accuracy); written to ``path`` if given.
        Needs matplotlib (``pip install fastmlp[plot]``). Returns the figure."""
        return plot_history(self, path)

    def diagnose(self, baseline_error=0.0) -> str:
        """Bias/variance diagnosis from the last epoch: error = 1 - accuracy for
        classification, the loss otherwise; needs validation data."""
        h = self.history
        if "val_accuracy" in h and "accuracy" in h:
            train, dev = 1.0 - h["accuracy"][-1], 1.0 - h["val_accuracy"][-1]
        elif "val_loss" in h and "loss" in h:
            train, dev = h["loss"][-1], h["val_loss"][-1]
        else:
            raise ValueError("History.diagnose needs a dev-set error: fit with validation_split "
                             "or validation_data")
        return diagnose(train, dev, baseline_error)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
