"""Jobs that tests/test_distributed.py runs under ``mpiexec -n 2``: ``python mpi_jobs.py NAME
[ARGS]``. Each rank asserts; a failed assert aborts the job (nonzero exit, the message on
stderr)."""
import os
import sys

import numpy as np

import fastmlp as fm


def _data(n=203, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def _all_equal_across_ranks(comm, arrays):
    """Every rank holds bit-identical arrays (rank 0's broadcast, compared bytewise)."""
    for a in arrays:
        mine = np.ascontiguousarray(a)
        root = comm.comm.bcast(mine.copy())
        if mine.tobytes() != root.tobytes():
            return False
    return True


def equivalence(comm):
    """float64 SGD without shuffling: shards X[rank::size] with batch b per rank equal one
    process with batch size*b (weights, History, validation)."""
    X, y = _data()
    b = 8

    def model():
        m = fm.Sequential([fm.Dense(16, activation="tanh"), fm.Dense(3)], dtype="float64",
                          seed=1)
        m.compile(optimizer=fm.SGD(lr=0.1, momentum=0.9), l2=1e-3)
        return m

    dist = model()
    h = dist.fit(X[comm.rank::comm.size], y[comm.rank::comm.size], epochs=3, batch_size=b,
                 shuffle=False, verbose=0, validation_data=(X[:50], y[:50]), distributed=comm)
    # Standardize learns the whole set's statistics from the ranks' rows.
    std = fm.Sequential([fm.Standardize(), fm.Dense(3)], dtype="float64")
    std.compile()
    std.fit(X[comm.rank::comm.size] * 3 + 1, y[comm.rank::comm.size], epochs=1, verbose=0,
            distributed=comm)
    mean_std = std.get_weights()[:2]
    np.testing.assert_allclose(mean_std[0], (X * 3 + 1).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(mean_std[1], (X * 3 + 1).std(axis=0), rtol=1e-12)
    ref = model()
    hr = ref.fit(X, y, epochs=3, batch_size=b * comm.size, shuffle=False, verbose=0,
                 validation_data=(X[:50], y[:50]))
    for a, r in zip(dist.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, r, rtol=0, atol=1e-10)
    for key in hr.history:
        np.testing.assert_allclose(h.history[key], hr.history[key], rtol=1e-10, err_msg=key)
    assert int(dist._net.step) == int(ref._net.step)


def sync_batchnorm(comm):
    """BatchNorm(synchronized=True): 2 ranks with batch b equal one process with batch 2b
    (global batch statistics, their gradients and the running statistics), also with shards
    of unequal size and a last step with unequal rows."""
    X, y = _data(n=203)
    X[:, 3] = 5 * X[:, 3] + 2

    def model():
        m = fm.Sequential([fm.Dense(12), fm.BatchNorm(synchronized=True, momentum=0.3),
                           fm.Tanh(), fm.Dense(3)], dtype="float64", seed=4)
        m.compile(optimizer=fm.SGD(lr=0.05))
        return m

    dist = model()
    h = dist.fit(X[comm.rank::comm.size], y[comm.rank::comm.size], epochs=2, batch_size=6,
                 shuffle=False, verbose=0, distributed=comm)
    ref = model()
    hr = ref.fit(X, y, epochs=2, batch_size=12, shuffle=False, verbose=0)
    for a, r in zip(dist.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, r, rtol=0, atol=1e-10)
    np.testing.assert_allclose(h.history["loss"], hr.history["loss"], rtol=1e-10)


def estimator(comm):
    """MLPClassifier.fit(distributed=comm): 2 ranks with batch b equal one process with 2b
    (SGD, no shuffling, alpha); classes are every rank's together."""
    import warnings

    from fastmlp.sklearn import MLPClassifier

    X, y = _data(n=200)
    y[y == 2] = 7                       # labels 0, 1, 7
    kw = dict(hidden_layer_sizes=(9,), solver="sgd", shuffle=False, random_state=0,
              max_iter=3, alpha=1e-3, learning_rate_init=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # ConvergenceWarning after 3 iterations
        dist = MLPClassifier(batch_size=10, **kw).fit(
            X[comm.rank::comm.size], y[comm.rank::comm.size], distributed=comm)
        ref = MLPClassifier(batch_size=20, **kw).fit(X, y)
        for a, r in zip(dist.coefs_ + dist.intercepts_, ref.coefs_ + ref.intercepts_):
            np.testing.assert_allclose(a, r, rtol=0, atol=1e-10)
        np.testing.assert_allclose(dist.loss_curve_, ref.loss_curve_, rtol=1e-10)
        # A rank that never sees label 7 still learns all three classes.
        mine = y[comm.rank::comm.size]
        keep = mine != 7 if comm.rank == 1 else np.ones(len(mine), bool)
        part = MLPClassifier(batch_size=10, **kw).fit(
            X[comm.rank::comm.size][keep], mine[keep], distributed=comm)
    assert list(part.classes_) == [0, 1, 7]


def allreduce_paths(comm):
    """The step's allreduce within a node and between nodes (one "node" per rank here): the
    row-weighted mean, the same bits on every rank, the flags summed, nothing changed when a
    loss was not finite."""
    from fastmlp.distributed import gradient_reducer

    rng = np.random.default_rng(comm.rank)
    for dtype in (np.float32, np.float64):
        g = rng.normal(size=1001).astype(dtype)
        every = comm.comm.allgather(g)
        for rows in ((5, 5), (7, 3)):
            want = sum(r * x.astype(np.float64) for r, x in zip(rows, every)) / sum(rows)
            for node in (None, comm.comm.Split(comm.rank)):
                out, flags = g.copy(), np.array([rows[comm.rank], 0.0, comm.rank])
                gradient_reducer(comm, [], node)(out, flags)
                tol = 1e-6 if dtype == np.float32 else 1e-14
                np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
                assert list(flags) == [sum(rows), 0.0, 1.0]
                assert _all_equal_across_ranks(comm, [out])
        out, flags = g.copy(), np.array([4.0, float(comm.rank == 1), 0.0])
        gradient_reducer(comm, [])(out, flags)
        assert flags[1] == 1.0 and np.array_equal(out, g)


def identical_weights(comm):
    """Shuffled Adam training with Dropout and BatchNorm: weights, optimizer state and running
    statistics identical on every rank after fit; dropout masks differ per rank."""
    X, y = _data(n=157)
    X = X.astype(np.float32)
    m = fm.Sequential([fm.Dense(32), fm.BatchNorm(), fm.ReLU(), fm.Dropout(0.3), fm.Dense(3)],
                      seed=5)
    m.compile(optimizer="adam")
    h = m.fit(X[comm.rank::comm.size], y[comm.rank::comm.size], epochs=2, batch_size=16,
              validation_split=0.2, verbose=0, distributed=comm)
    assert _all_equal_across_ranks(comm, m.get_weights() + m.get_optimizer_state()["arrays"])
    assert comm.comm.allgather(h.history) == [h.history] * comm.size
    assert m._net.rank == comm.rank
    masks = m.predict(X[:20], training=True)
    others = comm.comm.allgather(masks)
    assert not np.array_equal(others[0], others[1]), "dropout masks should differ per rank"


def backup(comm, backup_dir):
    """BackupAndRestore under distributed: rank 0 writes, every rank restores; 2 epochs then
    a resumed fit to 4 equal one fit of 4."""
    X, y = _data(n=120)

    def fit(epochs, callbacks):
        m = fm.Sequential([fm.Dense(8, activation="relu"), fm.Dense(3)], dtype="float64", seed=2)
        m.compile(optimizer="adam")
        h = m.fit(X[comm.rank::comm.size], y[comm.rank::comm.size], epochs=epochs,
                  batch_size=10, verbose=0, callbacks=callbacks, distributed=comm)
        return m, h

    ref, href = fit(4, [])
    fit(2, [fm.BackupAndRestore(backup_dir, delete_checkpoint=False)])
    assert os.path.exists(os.path.join(backup_dir, "backup.npz"))
    m, h = fit(4, [fm.BackupAndRestore(backup_dir)])
    for a, r in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, r)
    assert h.history == href.history


def threads(comm):
    """init() gave each rank its node's CPUs divided by the ranks on the node."""
    from fastmlp.runtime import cpus_available

    assert comm.local_size == comm.size == 2
    assert fm.get_num_threads() == max(1, cpus_available() // 2)


def fails_on_rank1(comm):
    """An exception on rank 1 only must end every rank (no hang)."""
    class Boom(fm.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if comm.rank == 1 and epoch == 1:
                raise RuntimeError("boom on rank 1")

    X, y = _data()
    m = fm.Sequential([fm.Dense(8), fm.Dense(3)], seed=0)
    m.compile()
    m.fit(X[comm.rank::2], y[comm.rank::2], epochs=50, batch_size=8, verbose=0,
          callbacks=[Boom()], distributed=comm)


if __name__ == "__main__":
    comm_ = fm.distributed.init()
    try:
        globals()[sys.argv[1]](comm_, *sys.argv[2:])
    except Exception as e:    # one rank's failed assert must not leave the other waiting
        fm.distributed.abort_on_error(comm_, e)
        raise
    print(f"rank {comm_.rank}: {sys.argv[1]} ok", flush=True)
