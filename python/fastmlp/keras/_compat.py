"""What every ``fastmlp.keras`` name shares: refusing, with a clear error, the Keras arguments
the engine has no counterpart for (rather than ignoring them)."""
from __future__ import annotations

import numpy as np

__all__ = ["refuse_unsupported", "UNSET", "set_global_seed", "next_model_seed"]

# keras.utils.set_random_seed: the models made afterwards without a seed draw theirs from it.
_seed_stream = None


def set_global_seed(seed: int) -> None:
    global _seed_stream
    _seed_stream = np.random.default_rng(np.random.SeedSequence(int(seed)))


def next_model_seed():
    """The next model's seed after ``set_random_seed`` (None before: the model draws one)."""
    if _seed_stream is None:
        return None
    return int(_seed_stream.integers(0, 2**62))

#: default of a Keras argument fastmlp cannot honour: anything else given is refused
UNSET = object()


def refuse_unsupported(where: str, **given) -> None:
    """ValueError naming each argument given a value other than its harmless default
    (``UNSET``, None, False or 0 for the Keras options fastmlp does not have)."""
    bad = [f"{k}={v!r}" for k, v in given.items()
           if v is not UNSET and v is not None and v is not False and not
           (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)]
    if bad:
        raise ValueError(f"fastmlp.keras {where} does not support {', '.join(bad)} (an MLP "
                         f"engine: see docs/keras.md for what is accepted)")
