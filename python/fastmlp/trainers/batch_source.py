"""Data that arrives in batches: generators, Keras ``PyDataset``-like sequences and PyTorch
``DataLoader``s of ``(x, y)`` or ``(x, y, sample_weight)`` batches, as ``fit``,
``evaluate`` and ``predict`` take them in place of arrays.

Each batch is converted once and goes to the engine whole (``train_batch``/``evaluate``), so
everything inside a batch still runs in C++; only the loop over batches is Python's.
"""
from __future__ import annotations

import warnings

__all__ = ["is_batch_source", "BatchSource"]


def is_batch_source(data) -> bool:
    """Whether ``data`` yields batches rather than being an array: an iterator, a re-iterable
    (``DataLoader``) or a sequence of batches (``__getitem__`` + ``__len__``). Arrays, tensors,
    DataFrames (anything with ``__array__`` or a ``shape``: sparse matrices too), lists and
    tuples are data, not batches."""
    if data is None or isinstance(data, (list, tuple, str, bytes, dict)) \
            or hasattr(data, "__array__") or hasattr(data, "__array_interface__") \
            or hasattr(data, "shape"):
        return False
    return hasattr(data, "__next__") or hasattr(data, "__iter__") \
        or (hasattr(data, "__getitem__") and hasattr(data, "__len__"))


class BatchSource:
    """The batches of one source, epoch after epoch.

    A sequence (``__getitem__`` + ``__len__``, Keras' ``PyDataset``) is indexed ``0..len-1``
    each epoch and its ``on_epoch_end()`` called after it; a re-iterable (``DataLoader``)
    starts a new pass each epoch; an iterator (a generator) is shared by all epochs, as in
    Keras. ``steps`` caps the batches of an epoch (required for an endless generator).
    """

    def __init__(self, data, steps=None, name="x"):
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                                  or steps < 1):
            raise ValueError(f"steps for {name} must be an int >= 1 or None, got {steps!r}")
        self.data, self.steps, self.name = data, steps, name
        self.is_sequence = (hasattr(data, "__getitem__") and hasattr(data, "__len__")
                            and not hasattr(data, "__next__"))
        self.is_iterator = hasattr(data, "__next__")
        self._iter = data if self.is_iterator else None
        self.exhausted = False

    def epoch(self):
        """The raw batches of one epoch (tuples), at most ``steps`` of them."""
        steps = self.steps
        if self.is_sequence:
            n = len(self.data) if steps is None else min(steps, len(self.data))
            for i in range(n):
                yield self.data[i]
            on_end = getattr(self.data, "on_epoch_end", None)
            if callable(on_end):
                on_end()
            return
        it = self._iter if self.is_iterator else iter(self.data)
        count = 0
        while steps is None or count < steps:
            try:
                batch = next(it)
            except StopIteration:
                if self.is_iterator:
                    self.exhausted = True
                break
            count += 1
            yield batch


def split_batch(batch, name="x", with_targets=True):
    """``(x, y, sample_weight)`` of one batch: a tuple/list of 2 or 3 (1 for predict), or a
    bare ``x`` for predict."""
    if isinstance(batch, dict):
        raise ValueError(f"{name} yielded a dict; yield tuples (x, y) or (x, y, sample_weight)")
    if not isinstance(batch, (tuple, list)):
        if with_targets:
            raise ValueError(f"{name} must yield tuples (x, y) or (x, y, sample_weight), got "
                             f"{type(batch).__name__}")
        return batch, None, None
    if with_targets and len(batch) not in (2, 3):
        raise ValueError(f"{name} must yield tuples (x, y) or (x, y, sample_weight), got a "
                         f"{type(batch).__name__} of {len(batch)}")
    if not with_targets and len(batch) not in (1, 2, 3):
        raise ValueError(f"{name} must yield x or tuples (x,), (x, y), (x, y, sample_weight)")
    x = batch[0]
    y = batch[1] if len(batch) > 1 else None
    w = batch[2] if len(batch) > 2 else None
    return x, y, w


def warn_ran_out(name):
    warnings.warn(f"{name} ran out of data: training stopped (give steps_per_epoch so that "
                  f"every epoch takes that many batches, or a source that yields enough)",
                  UserWarning, stacklevel=4)
