"""Data-parallel training over MPI (``pip install fastmlp[mpi]``: mpi4py and an MPI wheel).

``comm = fm.distributed.init()`` under ``mpiexec -n N`` (or ``srun``), then
``model.fit(X_shard, y_shard, ..., distributed=comm)`` on every rank, each with its own rows
and ``batch_size`` per rank. As PyTorch's DistributedDataParallel: rank 0's initial weights
are broadcast, every step allreduces the one gradient arena (a row-weighted mean: ranks with
fewer rows in a step weigh less), and every rank applies the same update, so the weights stay
bit-identical. BatchNorm running statistics are rank 0's (broadcast each step, DDP's
``broadcast_buffers``). Dropout and noise masks differ per rank. History, validation and
callbacks see global values (sums allreduced); only rank 0 prints and writes files.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

from fastmlp.runtime import cpus_available, set_num_threads

__all__ = ["Communicator", "init", "as_communicator"]


class Communicator:
    """An MPI communicator as fit uses it (wraps an ``mpi4py.MPI.Comm``).

    Attributes
    ----------
    rank, size : int
        This process's rank and the number of ranks.
    local_size : int
        Ranks on this node (an MPI shared-memory split).
    comm : mpi4py.MPI.Comm
        The wrapped communicator.
    """

    def __init__(self, comm):
        from mpi4py import MPI

        self._MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_size = local.Get_size()
        local.Free()

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size}, local_size={self.local_size})"

    def allreduce(self, a: np.ndarray, op: str = "sum") -> np.ndarray:
        """``a`` (contiguous) replaced in place by its sum (or max) over the ranks."""
        mpi_op = {"sum": self._MPI.SUM, "max": self._MPI.MAX}[op]
        if self.size > 1:
            self.comm.Allreduce(self._MPI.IN_PLACE, a, op=mpi_op)
        return a

    def bcast(self, a: np.ndarray, root: int = 0) -> np.ndarray:
        """``a`` (contiguous) replaced in place by rank ``root``'s."""
        if self.size > 1:
            self.comm.Bcast(a, root=root)
        return a

    def abort(self, code: int = 1) -> None:
        """End every rank of the job (after an error on this one)."""
        self.comm.Abort(code)


def init(comm=None, threads="auto") -> Communicator:
    """Start MPI (through mpi4py) and return the :class:`Communicator` fit takes.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Default ``MPI.COMM_WORLD``.
    threads : "auto", int or None
        "auto": fastmlp's threads per rank become the CPUs this process may use divided by the
        ranks on its node (at least 1), unless ``OMP_NUM_THREADS`` is set; an int sets that
        many; None leaves the setting alone.
    """
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError("fastmlp.distributed needs mpi4py and an MPI library: "
                          "pip install 'fastmlp[mpi]' (mpi4py and the mpich wheel)") from e
    c = Communicator(MPI.COMM_WORLD if comm is None else comm)
    if threads == "auto":
        if not os.environ.get("OMP_NUM_THREADS"):
            set_num_threads(max(1, cpus_available() // c.local_size))
    elif threads is not None:
        set_num_threads(threads)
    return c


def as_communicator(obj) -> Communicator:
    """``fit``'s ``distributed=``: a :class:`Communicator`, or an mpi4py communicator."""
    if isinstance(obj, Communicator):
        return obj
    if hasattr(obj, "Get_rank") and hasattr(obj, "Allreduce"):
        return Communicator(obj)
    raise TypeError(f"distributed must be fm.distributed.init()'s communicator or an mpi4py "
                    f"communicator, got {type(obj).__name__}")


def gradient_reducer(comm: Communicator, running_stats: list, node_comm=None):
    """fit_epoch's ``sync(grads, flags)``: sums the step's
    flags (rows, not-finite, stop) over the ranks and replaces the gradients by their
    row-weighted mean ``sum_r rows_r * g_r / sum_r rows_r`` (left alone when some loss was not
    finite), then broadcasts rank 0's BatchNorm running statistics. The sums run through node
    shared memory (:class:`_NodeAllreduce`); ``node_comm`` replaces the MPI shared-memory split
    that groups the ranks into nodes (tests use one "node" per rank to run the path between
    nodes)."""
    if comm.size == 1:
        return lambda grads, flags: None
    node = []   # set up by the first step (every rank takes it together: it is collective)

    def reduce(grads, flags):
        if not node:
            node.append(_NodeAllreduce(comm, grads.size, grads.dtype, node_comm))
        node[0](grads, flags)
        if flags[1] == 0:
            for a in running_stats:
                comm.bcast(a)
    return reduce


def _wait(req) -> None:
    """Wait for an MPI request polling with ``sched_yield``: a waiting rank lets a partner
    that shares its core run instead of spinning against it. (Sleeping between polls after
    0.1 ms was tried too: on a loaded 2-core machine it was no better at per-rank batch 256
    and slower at 64, the sleeps overshooting.)"""
    while not req.Test():
        _yield()


_yield = getattr(os, "sched_yield", lambda: None)


def stats_summer(comm: Communicator):
    """fit_epoch's ``across(values, flags)``: sums a few float64 values over the ranks
    (BatchNorm(synchronized=True)'s statistics), waited for as the gradient allreduce is."""
    MPI = comm._MPI

    def across(values, flags):
        _wait(comm.comm.Iallreduce(MPI.IN_PLACE, values, op=MPI.SUM))
    return across


class _NodeAllreduce:
    """The step's allreduce through an MPI shared-memory window on each node.

    Each rank writes ``rows * grads`` and its flags into its own slot, then (one barrier) sums
    its own slice of the arena over the slots in rank order and scales it by 1 / total rows
    into the result (so every element is added in the same order whichever rank sums it:
    bit-identical on every rank, and deterministic), then (a second barrier) copies the result
    back. Across nodes, the ranks that lead a node allreduce the result with MPI in between.
    The barriers are waited for by :func:`_wait`.

    Why not ``MPI_Allreduce`` on the arena: MPICH moves a 1 MB message through shared memory
    in a pipeline of small cells that needs both processes on a CPU at the same time; on a
    loaded machine every cell waited for the other rank to be scheduled (6 ms a step for
    0.94 MB against 2 ms of compute). Here a rank does its share of copying and adding on its
    own time and waits only at two barriers.
    """

    def __init__(self, comm: Communicator, n: int, dtype, local=None):
        MPI = comm._MPI
        self._MPI = MPI
        self.local = comm.comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.rank) \
            if local is None else local
        lr, ls = self.local.Get_rank(), self.local.Get_size()
        self.lr, self.ls, self.n = lr, ls, n
        dtype = np.dtype(dtype)
        # ls input slots + 1 result row of n values, then ls flag triples (float64).
        data_bytes = (ls + 1) * n * dtype.itemsize
        nbytes = data_bytes + 8 * 3 * ls
        self.win = MPI.Win.Allocate_shared(nbytes if lr == 0 else 0, 1, comm=self.local)
        mem, _ = self.win.Shared_query(0)
        raw = np.frombuffer(mem, dtype=np.uint8, count=nbytes)
        self.slots = raw[:data_bytes].view(dtype).reshape(ls + 1, n)
        self.flags = raw[data_bytes:].view(np.float64).reshape(ls, 3)
        lo, hi = n * lr // ls, n * (lr + 1) // ls
        self.mine = slice(lo, hi)
        leader = MPI.UNDEFINED if lr != 0 else 0
        self.leaders = comm.comm.Split(leader, key=comm.rank)
        self.multi_node = comm.size > ls

    def _barrier(self):
        _wait(self.local.Ibarrier())

    def __call__(self, grads, flags):
        slots, ls, mine = self.slots, self.ls, self.mine
        np.copyto(slots[self.lr], grads)
        self.flags[self.lr] = flags
        self._barrier()                              # every slot written
        rows = self.flags[:, 0].copy()
        total = self.flags.sum(axis=0)               # same order on every rank
        if self.multi_node:
            total = self._leader_sum(total)
        flags[:] = total
        ok = total[1] == 0 and total[0] > 0
        if ok:
            # This rank's slice of sum_r rows_r * g_r, added in rank order. Equal rows (every
            # step but an epoch's last) leave the weighting to the scale below.
            out = slots[ls, mine]
            uniform = not self.multi_node and bool((rows == rows[0]).all())
            w = [1.0] * ls if uniform else rows
            np.multiply(slots[0, mine], w[0], out=out) if w[0] != 1.0 else \
                np.copyto(out, slots[0, mine])
            for r in range(1, ls):
                out += slots[r, mine] if w[r] == 1.0 else slots[r, mine] * w[r]
        self._barrier()                              # every slice summed
        if not ok:
            return
        if self.multi_node:
            self._across_nodes()
        scale = (1.0 / ls) if uniform else 1.0 / total[0]
        np.multiply(slots[ls], grads.dtype.type(scale), out=grads)

    def _leader_sum(self, total):
        """The flags summed over the nodes (node leaders allreduce, then share by memory)."""
        MPI = self._MPI
        if self.lr == 0:
            self.leaders.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
            self.flags[0] = total
        self._barrier()
        total = self.flags[0].copy()
        self._barrier()
        return total

    def _across_nodes(self):
        if self.lr == 0:
            self.leaders.Allreduce(self._MPI.IN_PLACE, self.slots[self.ls], op=self._MPI.SUM)
        self._barrier()


class GlobalTotals:
    """An epoch's or evaluation's ``_core.Totals`` summed over the ranks (the fields the
    metrics read)."""

    _FIELDS = ("count", "loss_sum", "data_sum", "correct", "weight", "abs_sum")

    def __init__(self, totals, comm: Communicator, extra=()):
        v = np.array([float(getattr(totals, f)) for f in self._FIELDS] + [float(x) for x in extra])
        regression = totals.correct < 0
        comm.allreduce(v)
        for f, x in zip(self._FIELDS, v):
            setattr(self, f, x)
        self.count = int(self.count)
        if regression:
            self.correct = -1.0
        self.loss = self.loss_sum / self.count if self.count else 0.0
        self.extra = v[len(self._FIELDS):]


def abort_on_error(comm: Communicator, error: BaseException) -> None:
    """One rank failed while the others may wait in a collective: print the error with this
    rank's number and end the whole job (a hang is the alternative)."""
    if comm.size <= 1:
        return
    sys.stderr.write(f"fastmlp.distributed: rank {comm.rank} of {comm.size} failed; aborting "
                     f"every rank:\n" + "".join(traceback.format_exception(
                         type(error), error, error.__traceback__)))
    sys.stderr.flush()
    # The launcher forwards our stderr through a pipe and the abort through another channel:
    # without a pause, a loaded machine sometimes kills the job before the message is out.
    time.sleep(1.0)
    comm.abort(1)
