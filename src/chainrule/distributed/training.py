"""What a :class:`~chainrule.train.Trainer` does differently when it runs on K ranks.

The trainer keeps one :class:`DataParallel` and calls it at fixed points; every call is a
collective that all ranks make in the same order:

- the training data is sharded (:mod:`chainrule.data.sharding`): every rank draws the same
  permutation each epoch (the trainer's ``seed``) and takes every K-th example, so a
  per-rank batch of B makes a global batch of K x B, the batch one process would take;
- before the first step, rank 0's weights go to every rank and each rank's random
  generator (dropout) is forked from the shared one as ``default_rng([draw, rank])``, so
  the ranks draw different dropout masks, reproducibly;
- each step's gradients are averaged (:class:`~chainrule.distributed.GradientAllreduce`);
- each epoch's loss and accuracy sums are summed over the ranks, batch-norm statistics
  follow rank 0, and the ranks stop together;
- a checkpoint holds every rank's generator state (gathered to rank 0, which alone
  writes), so a resumed K-rank run continues exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.distributed.comm import (
    DistributedError,
    allgather,
    allreduce_,
    rank,
    world_size,
)
from chainrule.distributed.gradients import (
    GradientAllreduce,
    broadcast_buffers,
    broadcast_parameters,
)
from chainrule.random import get_rng, get_rng_state, set_rng_state

__all__ = ["DataParallel"]


class DataParallel:
    """The distributed side of a Trainer on ``world_size()`` ranks (see the module)."""

    def __init__(self) -> None:
        self.rank = rank()
        self.world_size = world_size()
        self.gradients = GradientAllreduce()
        self.rng_forked = False

    def loader(self, X: np.ndarray, y: np.ndarray, batch_size: int, seed: int,
               **options: Any) -> Any:
        """This rank's shuffled, sharded loader of ``(X, y)`` (per-rank ``batch_size``;
        ``options``: the DataLoader's ``dtype`` and ``targets``)."""
        from chainrule.data import DataLoader

        return DataLoader(X, y, batch_size=batch_size, shuffle=True, seed=seed,
                          num_replicas=self.world_size, rank=self.rank, **options)

    def start(self, model: Any, loader: Any) -> None:
        """Before the first step of a fit: same weights everywhere, the same number of
        batches on every rank, and (once per run) a generator of its own per rank."""
        batches = allgather(len(loader))
        if len(set(batches)) > 1:
            counts = ", ".join(f"rank {r}: {n}" for r, n in enumerate(batches))
            raise DistributedError(f"Trainer: the ranks' loaders have different numbers of "
                                   f"batches per epoch ({counts}); shard the data equally")
        broadcast_parameters(model)
        if not self.rng_forked:
            draw = int(get_rng().integers(2**63 - 1))
            set_rng_state(np.random.default_rng([draw, self.rank]).bit_generator.state)
            self.rng_forked = True

    def sums(self, *values: float) -> list[float]:
        """Each value summed over the ranks."""
        return allreduce_(np.array(values, dtype=np.float64), "sum").tolist()

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on some rank."""
        return bool(allreduce_(np.array([int(flag)], dtype=np.int64), "max")[0])

    def sync_buffers(self, model: Any) -> None:
        """Rank 0's module buffers (batch-norm running statistics) on every rank."""
        broadcast_buffers(model)

    def state(self) -> dict:
        """The world size and every rank's generator state (a collective)."""
        return {"world_size": self.world_size, "rng_states": allgather(get_rng_state())}

    def restore(self, state: dict | None) -> None:
        """Take this rank's generator state from a checkpoint of a run with as many ranks."""
        saved = int(state.get("world_size", 1)) if state else 1
        if saved != self.world_size:
            raise DistributedError(
                f"Trainer.resume: the checkpoint is of a {saved}-rank run and this run has "
                f"{self.world_size} ranks; resume it with mpirun -n {saved}")
        set_rng_state(state["rng_states"][self.rank])
        self.rng_forked = True

