"""fastmlp.distributed: data-parallel fit under ``mpiexec -n 2`` (jobs in tests/mpi_jobs.py),
and what can be checked in this process without MPI."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm

_JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_jobs.py")


def _mpiexec():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'fastmlp[mpi]')")
    exe = shutil.which("mpiexec") or shutil.which("mpirun")
    if exe is None:
        pytest.skip("no mpiexec on PATH (pip install 'fastmlp[mpi]' installs MPICH's)")
    return exe


def _run(job, *args, timeout=120, env=None):
    cmd = [_mpiexec(), "-n", "2", sys.executable, _JOBS, job, *map(str, args)]
    env = env or dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("job", ["equivalence", "sync_batchnorm", "identical_weights",
                                 "estimator", "allreduce_paths"])
def test_two_ranks(job):
    proc = _run(job)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.count(f"{job} ok") == 2


def test_backup_and_restore_two_ranks(tmp_path):
    proc = _run("backup", tmp_path / "bk")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert not (tmp_path / "bk" / "backup.npz").exists()


def test_threads_default_to_node_cores_over_local_ranks():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = _run("threads", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_error_on_one_rank_stops_all():
    proc = _run("fails_on_rank1", timeout=60)     # a hang would be a TimeoutExpired
    assert proc.returncode != 0
    assert "boom on rank 1" in proc.stderr
    assert "rank 1 of 2 failed" in proc.stderr


def test_rank_changes_dropout_streams_only():
    X = np.random.default_rng(0).normal(size=(30, 5)).astype(np.float32)
    m = fm.Sequential([fm.Dense(8), fm.Dropout(0.5), fm.Dense(2)], seed=0)
    m.compile()
    m.build(5)
    a0 = m.predict(X, training=True)
    m._net.rank = 1
    m2 = fm.Sequential([fm.Dense(8), fm.Dropout(0.5), fm.Dense(2)], seed=0)
    m2.compile()
    m2.build(5)
    assert np.array_equal(a0, m2.predict(X, training=True))   # rank 0: the usual masks
    assert not np.array_equal(a0, m.predict(X, training=True))
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))  # inference unaffected


def test_bad_distributed_argument():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    m = fm.Sequential([fm.Dense(2)])
    m.compile()
    with pytest.raises(TypeError, match="distributed"):
        m.fit(X, y, distributed="yes", verbose=0)


def test_cli_train_distributed(tmp_path):
    out = tmp_path / "m.fm"
    cmd = [_mpiexec(), "-n", "2", sys.executable, "-m", "fastmlp", "train", "digits",
           "--distributed", "--epochs", "10", "--layers", "32", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.count("test accuracy") == 1       # rank 0 alone reports
    assert "distributed: 2 ranks" in proc.stdout
    acc = float(proc.stdout.split("test accuracy: ")[1].split("%")[0])
    assert acc > 70     # one process with batch 128: 81%
    assert fm.load(str(out)).predict(np.zeros((1, 64))).shape == (1, 10)
