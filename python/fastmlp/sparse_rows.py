"""Sparse input (scipy.sparse CSR/CSC matrices and arrays) without densifying the whole
matrix: rows are gathered from CSR into dense blocks a batch at a time, so memory is the
sparse data plus a few dense blocks.
"""
from __future__ import annotations

import numpy as np

__all__ = ["is_sparse", "as_csr", "dense_rows", "row_blocks", "SparseBatches"]

#: elements (rows x features) of one dense block that predict and L-BFGS gather at a time
BLOCK_ELEMENTS = 1 << 22


def is_sparse(X) -> bool:
    """A scipy.sparse matrix or array (without importing scipy)."""
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def as_csr(X, dtype):
    """CSR with sorted indices in ``dtype`` (copies only the sparse data, when needed)."""
    X = X.tocsr()
    if X.dtype != dtype:
        X = X.astype(dtype)
    return X


def dense_rows(X, rows) -> np.ndarray:
    """Rows ``rows`` (a slice or an index array) of CSR ``X`` as a C-contiguous dense block."""
    return np.ascontiguousarray(X[rows].toarray())


def row_blocks(n_rows, n_features, max_rows=None):
    """Slices of at most ~BLOCK_ELEMENTS dense elements (at least one row) covering n_rows."""
    step = max(1, BLOCK_ELEMENTS // max(1, n_features))
    if max_rows is not None:
        step = min(step, max_rows)
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


class SparseBatches:
    """Mini-batches ``(X block, y block[, sample_weight block])`` of a CSR matrix, as
    ``Sequential.fit`` takes a sequence of batches: reshuffled after each epoch
    (``on_epoch_end``) when ``shuffle``, from a NumPy generator seeded by ``seed``."""

    def __init__(self, X, y, sample_weight, batch_size, shuffle, seed):
        self.X, self.y, self.sw = X, y, sample_weight
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(X.shape[0])
        self.on_epoch_end()

    def __len__(self):
        return -(-self.X.shape[0] // self.batch_size)

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        idx = np.sort(self._order[i * self.batch_size:(i + 1) * self.batch_size])
        batch = (dense_rows(self.X, idx), self.y[idx])
        return batch if self.sw is None else batch + (np.ascontiguousarray(self.sw[idx]),)

    def on_epoch_end(self):
        if self.shuffle:
            self._rng.shuffle(self._order)
