"""Saving and loading models: ``save_model``, ``load`` and their bytes forms.

The file format and its checks are in ``fastmlp.saving.file_format``: one self-describing file,
no pickle, no code execution; loading trusts nothing and any damage is a ``ValueError`` that
says what is wrong.
"""
from __future__ import annotations

import os

from fastmlp.models import Sequential
from fastmlp.saving import (
    FORMAT_VERSION,
    MAGIC,
    expected_weight_shapes,
    model_to_bytes,
    read_model_file,
    save_model,
)

__all__ = ["FORMAT_VERSION", "MAGIC", "expected_weight_shapes", "load", "model_from_bytes",
           "model_to_bytes", "save_model"]


def model_from_bytes(data) -> Sequential:
    """Rebuild a model from :func:`model_to_bytes` output. See :func:`load` for the checks."""
    return Sequential.from_bytes(data)


def load(path) -> Sequential:
    """Read a model written by :func:`save_model` (``model.save``).

    Never unpickles or executes anything from the file.

    Raises
    ------
    ValueError
        If the file is not a fastmlp model, has an unsupported format version, or is
        damaged or truncated.
    """
    try:
        return Sequential.from_bytes(read_model_file(path))
    except ValueError as exc:
        raise ValueError(f"cannot load fastmlp model from {os.fspath(path)!r}: {exc}") from None
