"""``import fastmlp.keras as keras``: Keras 3's names for MLPs, over fastmlp's engine.

A thin layer of names (no second engine): ``Sequential``, ``Input``, ``layers``,
``optimizers`` (with ``optimizers.schedules``), ``losses``, ``metrics``, ``regularizers``,
``initializers``, ``callbacks``, ``utils`` and ``models``, with Keras' argument names and
defaults. What Keras has and fastmlp has not is refused with a ValueError naming it;
docs/keras.md lists both.
"""
from fastmlp.keras import (
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
    utils,
)
from fastmlp.keras import models as models
from fastmlp.keras.layers import Input
from fastmlp.keras.models import Sequential

__all__ = ["Sequential", "Input", "layers", "optimizers", "losses", "metrics", "regularizers",
           "callbacks", "utils", "models", "initializers"]
