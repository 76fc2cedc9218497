"""Saving: the model file format (``file_format``); ``fastmlp.io`` is its public face."""
from fastmlp.saving.file_format import (
    FORMAT_VERSION,
    MAGIC,
    expected_weight_shapes,
    model_to_bytes,
    read_model,
    read_model_file,
    read_model_parts,
    save_model,
)

__all__ = ["FORMAT_VERSION", "MAGIC", "expected_weight_shapes", "model_to_bytes",
           "read_model", "read_model_file", "read_model_parts", "save_model"]
