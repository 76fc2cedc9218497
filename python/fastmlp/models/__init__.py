"""Models: ``Sequential``, a stack of layers over one C++ network (its training half is
``fastmlp.trainers.Trainer``)."""
from fastmlp.models.sequential import Sequential

__all__ = ["Sequential"]
