"""``keras.initializers`` for ``Dense(kernel_initializer=...)``: Keras' classes for the engine's
initializers (the draws come from the model's seed; a ``seed`` given here is accepted and has
no effect, as the model's seed decides every weight)."""
from __future__ import annotations

__all__ = ["Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
           "LecunNormal", "Zeros"]


class Initializer:
    fastmlp_name = ""

    def __init__(self, seed=None):
        self.seed = seed

    def __repr__(self):
        return f"{type(self).__name__}()"


class GlorotUniform(Initializer):
    fastmlp_name = "glorot_uniform"


class GlorotNormal(Initializer):
    fastmlp_name = "glorot_normal"


class HeUniform(Initializer):
    fastmlp_name = "he_uniform"


class HeNormal(Initializer):
    fastmlp_name = "he_normal"


class LecunNormal(Initializer):
    fastmlp_name = "lecun_normal"


class Zeros(Initializer):
    fastmlp_name = "zeros"

    def __init__(self):
        super().__init__()
