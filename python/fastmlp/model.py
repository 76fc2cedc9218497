"""``fastmlp.model``: the old import path of ``Sequential`` (now in ``fastmlp.models``)."""
from fastmlp.models import Sequential

__all__ = ["Sequential"]
