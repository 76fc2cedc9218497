"""fastmlp: fast multilayer perceptrons on the CPU.

A C++ core (own packed GEMM with AVX-512/AVX2 micro-kernels, fused kernels, whole training
steps with the GIL released) behind a Keras-style API and scikit-learn drop-in estimators.
"""
from fastmlp.runtime import build_info, get_num_threads, set_num_threads
from fastmlp import ops

__version__ = build_info()["version"]

__all__ = ["build_info", "get_num_threads", "set_num_threads", "ops", "__version__"]
