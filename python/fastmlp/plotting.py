"""Learning curves from a training history (needs the ``plot`` extra: matplotlib)."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["plot_history"]

_INSTALL_HINT = 'plotting needs matplotlib: pip install "fastmlp[plot]" (or pip install matplotlib)'


def _import_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return matplotlib


def _as_dict(history: Any) -> Mapping[str, list]:
    # Accept a History (Keras-style object with .history) or the dict itself.
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(
            "history must be a History returned by fit or a dict of lists, "
            f"got {type(history).__name__}"
        )
    return logs


def _panels(logs: Mapping[str, list]) -> list[str]:
    """Metric names to draw, one panel each: loss first, then accuracy, then any others."""
    names = [k for k in logs if not k.startswith("val_") and k != "lr"]
    # A metric logged only for the dev set still gets a panel.
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in names]
    order = {"loss": 0, "accuracy": 1}
    return sorted(names, key=lambda k: (order.get(k, 2), k))


def _epochs(history: Any, logs: Mapping[str, list], key: str) -> list[int]:
    """1-based epoch of each value of logs[key]: from a History, the epochs it was logged in
    (fit's initial_epoch and validation_freq shift and thin them); for a dict, 1, 2, ..."""
    logged = getattr(history, "logged_epochs", {}).get(key)
    if logged is not None and len(logged) == len(logs[key]):
        return [e + 1 for e in logged]
    return list(range(1, len(logs[key]) + 1))


def _draw(axes, logs: Mapping[str, list], names: list[str], history: Any = None) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax, name in zip(axes, names):
        for key, label, style in ((name, "train", "-"), ("val_" + name, "dev", "--")):
            values = [float(v) for v in logs.get(key, [])]
            if values:
                ax.plot(_epochs(history, logs, key), values, style,
                        marker="o" if len(values) < 30 else None, markersize=3, label=label)
        dev = [float(v) for v in logs.get("val_" + name, [])]
        if dev and name == "loss":
            finite = [(v, i) for i, v in enumerate(dev) if math.isfinite(v)]
            if finite:
                best = _epochs(history, logs, "val_loss")[min(finite)[1]]
                ax.axvline(best, color="grey", linewidth=0.8, linestyle=":",
                           label=f"best dev (epoch {best})")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()


def plot_history(history: Any, path: str | os.PathLike | None = None):
    """Draw training and dev curves side by side: loss, then accuracy (and any other metric).

    Parameters
    ----------
    history : History or dict
        What ``model.fit`` returned, or its ``.history`` dict (``{"loss": [...],
        "val_loss": [...], "accuracy": [...], ...}``). Keys starting with ``val_`` are the dev
        set and are drawn dashed on the same panel as their training twin.
    path : str or path-like, optional
        When given, the figure is rendered with the Agg backend (no display needed, pyplot's
        global state untouched) and written there; the format follows the extension.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed (the message says how to install it).
    ValueError
        If the history holds no metric at all.
    """
    _import_matplotlib()
    logs = _as_dict(history)
    names = [n for n in _panels(logs) if logs.get(n) or logs.get("val_" + n)]
    if not names:
        raise ValueError("history is empty: nothing to plot (was fit run for at least one epoch?)")
    size = (5.0 * len(names), 4.0)
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(names), squeeze=False)[0]
    else:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(names), figsize=size, squeeze=False)
        axes = axes[0]
    _draw(axes, logs, names, history)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=100)
    return fig
