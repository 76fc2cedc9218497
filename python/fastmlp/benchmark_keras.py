"""The Keras 3 rows of ``fastmlp bench``/``bench/compare.py``: one Keras script (784-256-128-10,
ReLU, softmax output, Adam 1e-3, sparse categorical cross-entropy) trained through
``fastmlp.keras`` and through Keras on its JAX and PyTorch backends, where installed.

Keras fixes its backend at import, so each backend runs in a subprocess of its own, pinned to
the same number of CPUs as fastmlp's threads.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np

__all__ = ["BACKENDS", "keras_comparison"]

BACKENDS = ("jax", "torch")

# Runs in the subprocess (argv: backend, rows, threads, batches...); prints {batch: samples/s}.
_SCRIPT = r"""
import json, os, sys, time
backend, rows, threads, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
os.environ["KERAS_BACKEND"] = backend
import numpy as np
import keras
if backend == "torch":
    import torch
    torch.set_num_threads(threads)
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
X = rng.normal(size=(rows, 784)).astype("float32")
y = rng.integers(0, 10, rows)
out = {}
for b in batches:
    b = int(b)
    model = keras.Sequential([keras.Input(shape=(784,)),
                              keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy")
    model.fit(X[:4 * b], y[:4 * b], batch_size=b, epochs=1, verbose=0)   # compile, warm up
    t0 = time.perf_counter()
    model.fit(X, y, batch_size=b, epochs=1, verbose=0)
    out[b] = rows / (time.perf_counter() - t0)
print(json.dumps(out))
"""


def _fastmlp_keras(rows: int, batches, threads: int) -> dict:
    import fastmlp as fm
    import fastmlp.keras as keras

    fm.set_num_threads(threads)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 784)).astype("float32")
    y = rng.integers(0, 10, rows)
    out = {}
    for b in batches:
        model = keras.Sequential([keras.Input(shape=(784,)),
                                  keras.layers.Dense(256, activation="relu"),
                                  keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")], seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy")
        model.fit(X[:4 * b], y[:4 * b], batch_size=b, epochs=1, verbose=0)
        t0 = time.perf_counter()
        model.fit(X, y, batch_size=b, epochs=1, verbose=0)
        out[b] = rows / (time.perf_counter() - t0)
    return out


def _backend_available(backend: str) -> bool:
    module = {"jax": "jax", "torch": "torch"}[backend]
    return importlib.util.find_spec("keras") is not None \
        and importlib.util.find_spec(module) is not None


def keras_comparison(rows: int, threads: int, batches=(64, 1024), timeout=900):
    """``{batch: {"fastmlp.keras": sps, "keras-jax": sps or text, "keras-torch": ...}}``, or
    None when Keras is not installed."""
    if importlib.util.find_spec("keras") is None:
        return None
    table = {b: {"fastmlp.keras": v} for b, v in _fastmlp_keras(rows, batches, threads).items()}
    for backend in BACKENDS:
        name = f"keras-{backend}"
        if not _backend_available(backend):
            for b in batches:
                table[b][name] = "not installed"
            continue
        env = {**os.environ, "KERAS_BACKEND": backend}
        try:
            done = subprocess.run(
                [sys.executable, "-c", _SCRIPT, backend, str(rows), str(threads),
                 *map(str, batches)], capture_output=True, text=True, timeout=timeout, env=env,
                check=True)
            speeds = json.loads(done.stdout.strip().splitlines()[-1])
            for b in batches:
                table[b][name] = float(speeds[str(b)])
        except (subprocess.SubprocessError, ValueError, KeyError, IndexError) as exc:
            for b in batches:
                table[b][name] = f"error: {type(exc).__name__}"
    return table
