"""Sharding an epoch's order over K processes, as PyTorch's ``DistributedSampler`` does.

Data-parallel training runs K copies of the model (ranks); each epoch every rank draws the
same permutation of the N examples (the same seed) and keeps every K-th index from its
rank on: rank ``r`` gets ``order[r::K]``. The shards are disjoint, and a global batch of
``K x B`` (the ranks' b-th batches together) holds exactly the examples of the b-th batch of
size ``K x B`` of one process that draws the same permutation.

When K does not divide N the shards are made equal, as PyTorch's sampler makes them:

- ``tail="pad"`` (PyTorch's ``drop_last=False``): the order is extended with its own first
  indices up to ``K x ceil(N / K)``, so a few examples are seen twice per epoch;
- ``tail="drop"`` (``drop_last=True``): the last ``N mod K`` indices of the order are left
  out, so a few examples (different ones each epoch when shuffling) are not seen.

>>> shard_indices(np.arange(10), num_replicas=3, rank=1)
array([1, 4, 7, 0])
>>> shard_size(10, 3), shard_size(10, 3, tail="drop")
(4, 3)
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHARD_TAILS", "check_shard", "shard_indices", "shard_size"]

#: What to do with the last ``N mod K`` examples: repeat the first ones, or leave them out.
SHARD_TAILS = ("pad", "drop")


def check_shard(num_replicas: int, rank: int, tail: str, where: str = "shard") -> None:
    """Raise ``ValueError`` naming ``where`` for a rank outside ``0..K-1`` or an unknown tail."""
    if int(num_replicas) < 1:
        raise ValueError(f"{where}: num_replicas must be >= 1, got {num_replicas}")
    if not 0 <= int(rank) < int(num_replicas):
        raise ValueError(f"{where}: rank must be in 0..{int(num_replicas) - 1}, got {rank}")
    if tail not in SHARD_TAILS:
        raise ValueError(f"{where}: shard_tail must be one of {', '.join(SHARD_TAILS)}, "
                         f"got {tail!r}")


def shard_size(n: int, num_replicas: int, tail: str = "pad") -> int:
    """Examples per rank and epoch: ``ceil(n / K)`` with padding, ``floor(n / K)`` dropping."""
    return -(-n // num_replicas) if tail == "pad" else n // num_replicas


def shard_indices(order: np.ndarray, num_replicas: int, rank: int,
                  tail: str = "pad") -> np.ndarray:
    """Rank ``rank``'s share of ``order`` (an epoch's permutation): every K-th index.

    ``order`` is padded with its own first indices (``tail="pad"``) or cut (``"drop"``) to
    ``K x shard_size(len(order), K, tail)`` first, so every rank gets the same number.
    """
    n = len(order)
    total = num_replicas * shard_size(n, num_replicas, tail)
    if total > n:
        order = np.resize(order, total)  # repeats the order from its start
    return order[rank:total:num_replicas]
