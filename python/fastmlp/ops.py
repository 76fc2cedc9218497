"""Direct access to the core's compute kernels (GEMM with fused epilogue)."""
from __future__ import annotations
