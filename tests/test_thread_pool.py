"""fastmlp's thread pool: every chunk once, errors carried out, fork safety, no busy idling,
and bit-identical training whatever the threads, the scheduling or the load."""
import subprocess
import sys
import time

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _core

from conftest import run_in_threads


@pytest.fixture
def threads():
    old = fm.get_num_threads()
    yield
    fm.set_num_threads(old)


@pytest.mark.parametrize("n, grain, nthreads", [(1, 1, 2), (7, 1, 2), (1000, 3, 2), (1000, 3, 5),
                                                  (100_000, 1, 3), (64, 64, 2), (65, 64, 8)])
def test_every_item_runs_exactly_once(n, grain, nthreads):
    assert _core._parallel_selftest(n, grain, nthreads) == [1] * n


@pytest.mark.parametrize("nthreads", [1, 2, 4])
def test_a_chunk_error_reaches_the_caller_and_the_pool_stays_usable(nthreads):
    for throw_at in (0, 500, 999):
        with pytest.raises(ValueError, match="selftest: chunk failed"):
            _core._parallel_selftest(1000, 10, nthreads, throw_at)
    assert _core._parallel_selftest(1000, 10, nthreads) == [1] * 1000


def test_concurrent_callers_get_correct_products(threads):
    fm.set_num_threads(2)
    rng = np.random.default_rng(0)
    pairs = [(rng.random((300, 200), dtype=np.float32), rng.random((200, 150), dtype=np.float32))
             for _ in range(4)]
    want = [fm.ops.gemm(a, b) for a, b in pairs]
    def work(i):
        for _ in range(20):
            np.testing.assert_array_equal(fm.ops.gemm(*pairs[i]), want[i])

    errors = run_in_threads(work, 4)
    assert not errors


# Run in a fresh interpreter: the test process may hold other libraries' threads (JAX warns
# on any fork), and only fastmlp's own pool is under test here.
_FORK_SCRIPT = """
import multiprocessing
import numpy as np
import fastmlp as fm
fm.set_num_threads(2)
a = np.ones((400, 300), np.float32)
fm.ops.gemm(a, a.T)  # the parent's pool exists now

def child(q):
    q.put(float(fm.ops.gemm(a, a.T)[0, 0]))

ctx = multiprocessing.get_context("fork")
q = ctx.Queue()
p = ctx.Process(target=child, args=(q,))
p.start()
p.join(60)
assert p.exitcode == 0, "the forked child hung or failed"
print(q.get(timeout=5))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_pool_created_before_fork_works_in_the_child():
    res = subprocess.run([sys.executable, "-c", _FORK_SCRIPT], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert float(res.stdout.strip()) == 300.0


def test_idle_workers_sleep(threads):
    fm.set_num_threads(2)
    a = np.ones((500, 400), np.float32)
    for _ in range(5):
        fm.ops.gemm(a, a.T)
    time.sleep(0.3)  # past the workers' short spin (and OpenBLAS's, after earlier tests)
    t0, c0 = time.perf_counter(), time.process_time()
    time.sleep(0.5)
    cpu = time.process_time() - c0
    assert cpu < 0.1 * (time.perf_counter() - t0), f"idle pool used {cpu:.3f} s of CPU"


def _train(nthreads, X, y):
    fm.set_num_threads(nthreads)
    m = fm.Sequential([fm.Dense(256, activation="relu"), fm.BatchNorm(), fm.Dropout(0.2),
                       fm.Dense(128, activation="gelu"), fm.Dense(10)],
                      input_dim=X.shape[1], seed=3)
    m.compile(loss="cross_entropy", optimizer=fm.Adam(lr=1e-3), l2=1e-4)
    m.fit(X, y, epochs=2, batch_size=128, verbose=0)
    return m.get_weights()


@pytest.mark.parametrize("adaptive", [True, False])
def test_weights_bit_identical_whatever_threads_and_load(threads, adaptive):
    rng = np.random.default_rng(0)
    X = rng.random((2048, 300), dtype=np.float32)
    y = rng.integers(0, 10, 2048)
    ref = _train(1, X, y)
    runs = {}
    # A busy neighbour process deschedules the pool's workers at random points: chunks then
    # run on other threads. Adaptive: the pool also falls back to one thread mid-run; not
    # adaptive: every region uses all the threads, more than the free cores.
    old = _core._set_pool_adaptive(adaptive)
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        for nthreads in (1, 2, 3):
            runs[f"{nthreads} threads, busy"] = _train(nthreads, X, y)
        neighbour.kill()
        neighbour.wait()
        for nthreads in (2, 3):
            runs[f"{nthreads} threads, quiet"] = _train(nthreads, X, y)
    finally:
        neighbour.kill()
        neighbour.wait()
        _core._set_pool_adaptive(old)
    for name, w in runs.items():
        for a, b in zip(ref, w):
            np.testing.assert_array_equal(a, b, err_msg=name)
