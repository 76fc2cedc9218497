"""Losses: names, aliases, and the conversion of targets ``y`` to what the engine takes.

``cross_entropy`` fuses a softmax, ``binary_cross_entropy`` a sigmoid: the last layer outputs
raw logits, or ends with that softmax/sigmoid itself (Keras' way), which the engine then takes
as the loss's link (``fused_link``). ``mse`` is the mean over all elements (PyTorch's
``MSELoss``), ``mae`` the mean absolute error (``l1_loss``), ``huber`` the Huber loss
(``huber_loss``; :class:`Huber` sets its delta). ``poisson`` takes the last layer's output as
the log rate ``z`` (link ``exp``, which ``predict`` applies) and is the mean over all elements
of ``exp(z) - y * z``: PyTorch's ``PoissonNLLLoss(log_input=True)``.
"""
from __future__ import annotations

import numpy as np

from fastmlp._validation import canonical_name, check_finite
from fastmlp.errors import InvalidParameterError

__all__ = ["LOSSES", "ALIASES", "Huber", "resolve_loss", "resolve_loss_spec", "prepare_targets",
           "prepare_sample_weight", "check_last_layer", "fused_link"]

#: loss name -> the output link the engine applies in ``predict`` (and fuses in the loss)
LOSSES = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": None,
          "mae": None, "huber": None, "poisson": "exp"}

ALIASES = {
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "crossentropy": "cross_entropy",
    "log_loss": "cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
    "mean_squared_error": "mse",
    "squared_error": "mse",
    "mean_absolute_error": "mae",
    "l1": "mae",
    "absolute_error": "mae",
    "smooth_l1": "huber",
    "huber_loss": "huber",
    "poisson_nll": "poisson",
}


class Huber:
    """The Huber loss with threshold ``delta`` (``compile(loss=fm.losses.Huber(2.0))``; the
    string ``"huber"`` is ``delta=1``): ``0.5 d**2`` where ``|d| <= delta``, else
    ``delta * (|d| - 0.5 * delta)``, the mean over all elements -- torch's ``huber_loss``
    and Keras' ``Huber``. torch's ``smooth_l1_loss`` with ``beta=1`` is the same loss."""

    def __init__(self, delta=1.0):
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating)) \
                or not np.isfinite(delta) or delta <= 0:
            raise InvalidParameterError(
                f"The 'delta' parameter of Huber must be a finite number > 0. Got {delta!r} "
                f"instead.")
        self.delta = float(delta)

    def __repr__(self):
        return f"Huber(delta={self.delta!r})"


def resolve_loss_spec(loss) -> tuple[str, float]:
    """``(canonical name, huber delta)`` of ``loss``: a name (``resolve_loss``) or a
    :class:`Huber`."""
    if isinstance(loss, Huber):
        return "huber", loss.delta
    return resolve_loss(loss), 1.0


def resolve_loss(loss) -> str:
    """The canonical loss name of ``loss`` (one of LOSSES or ALIASES, any case)."""
    return canonical_name(loss, LOSSES, ALIASES, f"The 'loss' parameter must be one of "
                          f"{sorted(LOSSES)}. Got {loss!r} instead.")


def is_regression(loss: str) -> bool:
    """The element-wise losses on the raw output: mse, mae, huber."""
    return LOSSES.get(loss, "") is None


def is_classification(loss: str) -> bool:
    return loss in ("cross_entropy", "binary_cross_entropy")


def fused_link(loss: str, layers) -> bool:
    """Whether the model's last layer ends with ``loss``'s own link (a softmax before
    cross_entropy, a sigmoid before binary_cross_entropy): the engine then trains on the logits
    with the fused loss and ``predict`` applies the link once -- Keras' model, in its stable
    form."""
    link = LOSSES[loss]
    return link is not None and bool(layers) and layers[-1].activation_name == link


def check_last_layer(loss: str, layers, inference_identity=()) -> None:
    """The link may be fused only when it ends the model: a softmax (sigmoid) followed by
    layers that are the identity at inference (``inference_identity``: Dropout, noise) would
    make training differ from the model written down, a ValueError that says so."""
    link = LOSSES[loss]
    if link is None or not layers or fused_link(loss, layers):
        return
    core = [layer for layer in layers if not isinstance(layer, tuple(inference_identity))]
    if core and core[-1].activation_name == link:
        raise ValueError(
            f"loss={loss!r} fuses the model's final {link} into the loss, but "
            f"{type(layers[-1]).__name__} follows the {link}: put the {link} last (or drop "
            f"it: without one the last layer outputs logits and predict() still returns "
            f"{'probabilities' if link == 'softmax' else 'sigmoid outputs'})")


def _as_numeric(y, name):
    if y is None:
        raise TypeError(f"{name} must be an array-like of numbers, got None")
    try:
        raw = y if isinstance(y, np.ndarray) else np.asarray(y)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name} could not be converted to a numeric array: {e}") from None
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain numbers, got an array of dtype {raw.dtype}"
                        + ("; encode string labels as integers 0..K-1 first"
                           if raw.dtype.kind in "OUS" else ""))
    if raw.size == 0:
        raise ValueError(f"{name} is empty (shape {raw.shape})")
    return raw


def prepare_targets(y, loss: str, out_dim: int, dtype: str, n: int | None = None,
                    name: str = "y") -> np.ndarray:
    """Validate ``y`` and convert it to the engine's convention for ``loss``.

    cross_entropy: int32 labels ``(n,)`` in 0..out_dim-1, or float ``(n, out_dim)`` class
    probabilities; binary_cross_entropy: float ``(n, out_dim)`` in [0, 1] (``(n,)`` when
    ``out_dim == 1``); mse: float ``(n, out_dim)`` (``(n,)`` when ``out_dim == 1``).
    """
    raw = _as_numeric(y, name)
    if loss == "cross_entropy":
        if raw.ndim == 2 and raw.shape[1] == 1 and out_dim != 1:
            raw = raw.reshape(-1)
        if raw.ndim == 1:
            if raw.dtype.kind == "f":
                check_finite(raw, name)
                if not np.all(raw == np.round(raw)):
                    raise ValueError(f"{name} holds class labels for loss='cross_entropy' and "
                                     "must be integers 0..K-1 (or pass an (n, K) array of "
                                     "probabilities)")
            lo, hi = raw.min(), raw.max()
            if lo < 0 or hi >= out_dim:
                raise ValueError(
                    f"{name} has labels outside the model's classes 0..{out_dim - 1} "
                    f"(found {lo.item()}..{hi.item()}); the last layer has {out_dim} unit(s), "
                    f"one per class")
            out = np.ascontiguousarray(raw, dtype=np.int32)
        elif raw.ndim == 2:
            if raw.shape[1] != out_dim:
                raise ValueError(f"{name} has {raw.shape[1]} columns of class probabilities, "
                                 f"but the model has {out_dim} output(s)")
            out = np.ascontiguousarray(raw, dtype=dtype)
            check_finite(out, name)
            if out.min() < 0 or out.max() > 1:
                raise ValueError(f"{name} holds class probabilities and must lie in [0, 1]")
        else:
            raise ValueError(f"{name} must be 1-D labels or 2-D probabilities, got shape "
                             f"{raw.shape}")
    else:
        if raw.ndim == 1 and out_dim == 1:
            raw = raw.reshape(-1, 1)
        if raw.ndim != 2 or raw.shape[1] != out_dim:
            raise ValueError(f"{name} must have shape (n_samples, {out_dim}) to match the "
                             f"model's {out_dim} output(s)" + (" (or (n_samples,))"
                                                               if out_dim == 1 else "")
                             + f", got {raw.shape}")
        out = np.ascontiguousarray(raw, dtype=dtype)
        check_finite(out, name)
        if loss == "binary_cross_entropy" and (out.min() < 0 or out.max() > 1):
            raise ValueError(f"{name} must hold 0/1 targets (or probabilities in [0, 1]) for "
                             f"loss='binary_cross_entropy', found values in "
                             f"[{out.min().item()}, {out.max().item()}]")
        if loss == "poisson" and out.min() < 0:
            raise ValueError(f"{name} must hold counts or rates >= 0 for loss='poisson', found "
                             f"{out.min().item()}")
    if n is not None and len(out) != n:
        raise ValueError(f"X and {name} have different numbers of samples: {n} and {len(out)}")
    return out


def _row_classes(y: np.ndarray, loss: str, out_dim: int) -> tuple[np.ndarray, int]:
    """The class of each row (for class_weight) and the number of classes."""
    if loss == "cross_entropy":
        return (y if y.ndim == 1 else y.argmax(axis=1)), out_dim
    if loss == "binary_cross_entropy" and out_dim == 1:
        return (y[:, 0] >= 0.5).astype(np.int64), 2
    raise ValueError("class_weight needs one class per sample: loss='cross_entropy', or "
                     "loss='binary_cross_entropy' with a single output; pass sample_weight "
                     "instead")


def _class_weight_per_row(class_weight, y, loss, out_dim) -> np.ndarray:
    classes, k = _row_classes(y, loss, out_dim)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise InvalidParameterError(
                f"class_weight must be a dict {{class: weight}}, 'balanced' or None, got "
                f"{class_weight!r}")
        # scikit-learn's rule: n_samples / (n_classes present * count of the class)
        counts = np.bincount(classes, minlength=k).astype(np.float64)
        present = counts > 0
        table = np.zeros(k)
        table[present] = len(classes) / (present.sum() * counts[present])
        return table[classes]
    if not isinstance(class_weight, dict):
        raise InvalidParameterError(
            f"class_weight must be a dict {{class: weight}}, 'balanced' or None, got "
            f"{type(class_weight).__name__}")
    table = np.ones(k)     # classes left out keep weight 1 (as in Keras)
    for c, w in class_weight.items():
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) \
                or not 0 <= c < k:
            raise ValueError(f"class_weight has key {c!r}: keys must be class indices "
                             f"0..{k - 1}")
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise TypeError(f"class_weight[{c}] must be a number, got {w!r}") from None
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"class_weight[{c}] must be finite and >= 0, got {w}")
        table[int(c)] = w
    return table[classes]


def prepare_sample_weight(sample_weight, class_weight, y: np.ndarray, loss: str, out_dim: int,
                          dtype: str, name: str = "sample_weight") -> np.ndarray | None:
    """Per-sample loss weights for the engine (``None`` when both arguments are None):
    ``sample_weight`` (n,), finite and >= 0, times ``class_weight`` of each row's class
    (a dict ``{class: weight}`` or ``"balanced"``). ``y`` is already prepared."""
    if sample_weight is None and class_weight is None:
        return None
    n = len(y)
    if sample_weight is None:
        w = np.ones(n)
    else:
        w = _as_numeric(sample_weight, name)
        if w.ndim == 2 and w.shape[1] == 1:
            w = w.reshape(-1)
        if w.ndim != 1 or len(w) != n:
            raise ValueError(f"{name} must have shape ({n},), one weight per sample, got "
                             f"{w.shape}")
        w = np.asarray(w, dtype=np.float64)
        check_finite(w, name)
        if w.min() < 0:
            raise ValueError(f"{name} must be >= 0, found {w.min()}")
    if class_weight is not None:
        w = w * _class_weight_per_row(class_weight, y, loss, out_dim)
    # Checked in the model's dtype: 1e-50 is 0 and 1e39 is inf in float32.
    limit = np.finfo(dtype).max
    if w.max() > limit:
        raise ValueError(f"{name} (with class_weight) exceeds the largest {dtype} ({limit:g}): "
                         f"found {w.max():g}")
    out = np.ascontiguousarray(w, dtype=dtype)
    if not out.sum(dtype=np.float64) > 0:
        raise ValueError(f"{name} (with class_weight) sums to 0 in {dtype}: every sample has "
                         "weight 0")
    return out
