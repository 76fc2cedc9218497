"""What every ``fastmlp.keras`` name shares: refusing, with a clear error, the Keras arguments
the engine has no counterpart for (rather than ignoring them)."""
from __future__ import annotations

import collections
import re

import numpy as np

__all__ = ["refuse_unsupported", "UNSET", "set_global_seed", "next_model_seed", "auto_name",
           "check_name", "reset_names", "missing_name"]

# Keras' automatic names (keras/src/utils/naming.py): one counter per snake_case prefix for
# the whole session, so the second Dense made anywhere is "dense_1"; clear_session resets.
_name_uids: collections.defaultdict = collections.defaultdict(int)


def _snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name: str) -> str:
    """``Dense`` -> ``dense``, then ``dense_1``, ... (``ReLU`` -> ``re_lu``, as Keras)."""
    prefix = _snake_case(class_name)
    uid = _name_uids[prefix]
    _name_uids[prefix] += 1
    return f"{prefix}_{uid}" if uid else prefix


def check_name(name, where: str) -> str:
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"{where}: name must be a non-empty string without '/', got {name!r}")
    return name


def reset_names() -> None:
    _name_uids.clear()

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


def missing_name(module: str, name: str, provided) -> AttributeError:
    """The AttributeError for a Keras name this namespace does not provide (``AUC``,
    ``Conv2D``, ...): what it has instead."""
    return AttributeError(f"{module} has no {name!r}: fastmlp.keras provides "
                          f"{', '.join(sorted(n for n in provided if not n.startswith('_')))} "
                          f"(docs/keras.md lists what is accepted and refused)")
