"""The group of processes (ranks) of a data-parallel job, and its collectives, over MPI.

A job started with ``mpirun -n K python train.py`` (or ``srun``) runs K copies of the same
program. :func:`init` joins them through `mpi4py <https://mpi4py.readthedocs.io>`_ (the
``chainrule[mpi]`` extra: mpi4py and the MPICH runtime); each then has a :func:`rank`
``0..K-1`` and knows the :func:`world_size` K. Started without a launcher, a program is a
world of one: ``rank() == 0``, ``world_size() == 1`` and every collective does nothing.

The collectives move NumPy arrays in place (MPI's buffer interface, no pickling):
``allreduce_`` (sum, max or min over the ranks), ``broadcast_`` (rank 0's values to all);
``allgather`` and ``broadcast_object`` move small Python objects. Every rank must call a
collective, in the same order, or the job blocks.

>>> import chainrule as cr
>>> cr.distributed.init()                     # doctest: +SKIP
>>> cr.distributed.rank(), cr.distributed.world_size()
(0, 1)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError

__all__ = [
    "INSTALL_HINT", "DistributedError", "abort", "allgather", "allreduce_", "barrier",
    "broadcast_", "broadcast_object", "init", "is_initialized", "is_main", "launcher_world_size",
    "rank", "world_size",
]

#: What to install for :mod:`chainrule.distributed` (said by the error when it is missing).
INSTALL_HINT = "pip install 'chainrule[mpi]' (mpi4py and the MPICH runtime)"

_OPS = ("sum", "max", "min")
_comm: Any = None  # mpi4py's COMM_WORLD once init() ran with more than one rank
_MPI: Any = None
_initialized = False


class DistributedError(ChainruleError, RuntimeError):
    """A distributed job that cannot run: MPI missing, ranks that disagree, a wrong K."""


def launcher_world_size() -> int:
    """How many processes the MPI launcher started, from its environment (1 without one).

    MPICH's and Intel MPI's ``mpiexec`` set ``PMI_SIZE``, Open MPI's ``mpirun`` sets
    ``OMPI_COMM_WORLD_SIZE``, Slurm's ``srun`` sets ``SLURM_STEP_NUM_TASKS``.
    """
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"):
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def _import_mpi(where: str) -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"{where}: mpi4py is not installed ({e}); {INSTALL_HINT}") from None
    return MPI


def init() -> int:
    """Join the job's ranks through MPI; returns the world size (1 outside ``mpirun``).

    Idempotent. When a launcher started several processes and mpi4py is missing, raises
    :class:`DistributedError` saying what to install. With more than one rank, a rank that
    fails (an uncaught exception, or a peer killed) ends the whole job with the rank and
    the error named (:mod:`chainrule.distributed.faults`) instead of leaving the others
    waiting in a collective.
    """
    global _comm, _MPI, _initialized
    if _initialized:
        return world_size()
    launched = launcher_world_size()
    try:
        MPI = _import_mpi("cr.distributed.init")
    except DistributedError:
        if launched > 1:
            raise DistributedError(
                f"cr.distributed.init: started as one of {launched} processes, but mpi4py is "
                f"not installed; {INSTALL_HINT}") from None
        _initialized = True  # a world of one, without MPI
        return 1
    comm = MPI.COMM_WORLD
    _initialized = True
    if comm.Get_size() > 1:
        _MPI, _comm = MPI, comm
        from chainrule.distributed.faults import install

        install(comm)
    return world_size()


def is_initialized() -> bool:
    """Whether :func:`init` ran."""
    return _initialized


def rank() -> int:
    """This process's number, ``0..world_size()-1`` (0 outside a job)."""
    return _comm.Get_rank() if _comm is not None else 0


def world_size() -> int:
    """The number of ranks K (1 outside a job, or before :func:`init`)."""
    return _comm.Get_size() if _comm is not None else 1


def is_main() -> bool:
    """Whether this is rank 0: the one that prints and writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank got here."""
    if _comm is not None:
        _comm.Barrier()


def _contiguous(array: np.ndarray, where: str) -> None:
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise DistributedError(f"{where}: needs a C-contiguous NumPy array, got "
                               f"{type(array).__name__} {getattr(array, 'shape', '')}")


def allreduce_(array: np.ndarray, op: str = "sum") -> np.ndarray:
    """Combine ``array`` over the ranks in place (``op``: sum, max or min); returns it.

    >>> totals = allreduce_(np.array([loss_sum, correct, seen]))   # doctest: +SKIP
    """
    if op not in _OPS:
        raise ValueError(f"allreduce_: op must be one of {', '.join(_OPS)}, got {op!r}")
    if _comm is not None:
        _contiguous(array, "allreduce_")
        _comm.Allreduce(_MPI.IN_PLACE, array, op={"sum": _MPI.SUM, "max": _MPI.MAX,
                                                  "min": _MPI.MIN}[op])
    return array


def broadcast_(array: np.ndarray, root: int = 0) -> np.ndarray:
    """Overwrite ``array`` on every rank with rank ``root``'s values; returns it."""
    if _comm is not None:
        _contiguous(array, "broadcast_")
        _comm.Bcast(array, root=root)
    return array


def allgather(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (small, picklable), in rank order, on every rank."""
    return _comm.allgather(obj) if _comm is not None else [obj]


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """Rank ``root``'s ``obj`` (small, picklable) on every rank."""
    return _comm.bcast(obj, root=root) if _comm is not None else obj


def abort(code: int = 1) -> None:
    """End every rank of the job now (``MPI_Abort``); outside a job, exit with ``code``."""
    if _comm is not None:
        _comm.Abort(code)
    os._exit(code)
