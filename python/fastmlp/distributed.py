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


def gradient_reducer(comm: Communicator, running_stats: list):
    """fit_epoch's ``sync(grads, flags)``: sums the step's flags (rows, not-finite, stop) over
    the ranks; unless a loss was not finite, replaces the gradients by their row-weighted mean
    (pre-scaled by rows / total rows, then one allreduce of the whole contiguous arena) and
    broadcasts rank 0's BatchNorm running statistics."""
    def reduce(grads, flags):
        rows = flags[0]
        comm.allreduce(flags)
        if flags[1] > 0:
            return
        total = flags[0]
        if total > 0 and rows != total:
            grads *= grads.dtype.type(rows / total)
        comm.allreduce(grads)
        for a in running_stats:
            comm.bcast(a)
    return reduce


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
    comm.abort(1)
