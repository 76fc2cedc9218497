"""Threads, build information and the machine description the CLI and benchmark print."""
from __future__ import annotations

import numbers
import os
import platform
from importlib.metadata import PackageNotFoundError, version

from fastmlp import _core


def build_info() -> dict:
    """Return a dict describing this build.

    Keys: ``version``, ``compiler``, ``openmp`` (False: the kernels run on fastmlp's own
    thread pool), ``threading``, ``isa`` (the kernel set picked at run time: ``"avx512"``,
    ``"avx2"`` or ``"generic"``), ``isa_detected``, ``isa_compiled``.
    ``FASTMLP_ISA=avx2|generic`` in the environment forces a lower kernel set.
    """
    return dict(_core.build_info())


def get_num_threads() -> int:
    """Number of threads fastmlp's kernels use (default: CPUs available, or OMP_NUM_THREADS)."""
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads fastmlp's kernels use.

    Results do not depend on it: work is split over outputs only, never over a reduction.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _core.set_num_threads(int(n))


def cpu_model() -> str:
    """The CPU's marketing name (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peer_versions() -> dict:
    """Versions of the libraries fastmlp is compared with or uses optionally."""
    found = {}
    for dist in ("numpy", "scikit-learn", "torch", "matplotlib", "tqdm", "onnx", "onnxruntime"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


def cpus_available() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
