"""``cr.distributed``: data-parallel training over MPI, the way ChainerMN and Horovod do it.

Start K copies of a program with an MPI launcher (``mpirun -n 4 chainrule train ...``,
``srun``); each copy (a *rank*) holds the whole model, trains on its own shard of every
epoch, and the ranks average their gradients after each backward pass, so all ranks take
the same step: the step of one process with a K times larger batch. MPI comes from the
``chainrule[mpi]`` extra (mpi4py with the MPICH runtime); without it everything else works
and a distributed request says what to install.

==========================  ==========================================================
name                        what it does
==========================  ==========================================================
``init()``                  join the ranks (a world of one outside a launcher)
``rank()``, ``world_size()`` this process's number, the number of processes K
``is_main()``               whether this is rank 0, the one that prints and writes
``barrier()``               wait for every rank
``broadcast_parameters(m)`` rank 0's weights (and buffers) on every rank
``allreduce_gradients(m)``  every ``.grad`` averaged over the ranks, as one message
``GradientAllreduce``       the same as a compiled step's ``gradient_hook``
``allreduce_``, ...         collectives on NumPy arrays (:mod:`.comm`)
==========================  ==========================================================

:class:`~chainrule.train.Trainer` and ``chainrule train`` do all of this themselves once
``init()`` found several ranks; see docs/distributed.md.

>>> import chainrule as cr
>>> cr.distributed.init()                                   # doctest: +SKIP
>>> model = cr.nn.MLP(64, [128], 10)
>>> cr.distributed.broadcast_parameters(model)              # the same start on every rank
>>> cr.distributed.world_size()
1
"""

from chainrule.distributed.comm import (
    INSTALL_HINT,
    DistributedError,
    abort,
    allgather,
    allreduce_,
    barrier,
    broadcast_,
    broadcast_object,
    init,
    is_initialized,
    is_main,
    launcher_world_size,
    rank,
    world_size,
)
from chainrule.distributed.gradients import (
    GradientAllreduce,
    allreduce_gradients,
    broadcast_buffers,
    broadcast_parameters,
    synchronized,
)

__all__ = [
    "INSTALL_HINT",
    "DistributedError",
    "GradientAllreduce",
    "abort",
    "allgather",
    "allreduce_",
    "allreduce_gradients",
    "barrier",
    "broadcast_",
    "broadcast_buffers",
    "broadcast_object",
    "broadcast_parameters",
    "init",
    "is_initialized",
    "is_main",
    "launcher_world_size",
    "rank",
    "synchronized",
    "world_size",
]
