"""Training: ``Trainer``, the base class that gives ``Sequential`` compile/fit/evaluate, and
its parts (compile settings, the dev set, the progress display)."""
from fastmlp.trainers.compile_config import CompileConfig
from fastmlp.trainers.trainer import Trainer

__all__ = ["CompileConfig", "Trainer"]
