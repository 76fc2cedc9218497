"""``CompileConfig``: the settings ``Sequential.compile`` chose, frozen."""
from __future__ import annotations

from dataclasses import dataclass

from fastmlp.optimizers import Optimizer

__all__ = ["CompileConfig"]


@dataclass(frozen=True)
class CompileConfig:
    """Loss name (resolved), optimizer, the model-wide L1/L2 penalties on Dense weights and
    the metric keys the history reports. Recompiling makes a new one."""

    loss: str
    optimizer: Optimizer
    l1: float = 0.0
    l2: float = 0.0
    metrics: tuple = ()
    huber_delta: float = 1.0       # loss "huber" only

    def penalties(self, layer) -> tuple:
        """``(l1, l2)`` on ``layer``'s weights: the layer's own values win over the model's
        (a layer without l1/l2 attributes has none of its own)."""
        own1, own2 = getattr(layer, "l1", None), getattr(layer, "l2", None)
        return (self.l1 if own1 is None else own1, self.l2 if own2 is None else own2)
