"""DataLoader: minibatches of ``(X, y)`` as Tensors, reshuffled every epoch, resumable.

Minibatch stochastic gradient descent (the lecture's training loop) takes a small random
batch of the training data at each step; one pass over all batches is an epoch.

The loader owns its random generator (seeded with ``seed``, or drawn from
``cr.get_rng()`` so that ``cr.manual_seed`` reproduces it): every epoch's order is a new
permutation from that generator. :meth:`DataLoader.state_dict` captures the generator as
it was at the start of the current epoch and how many batches of the epoch were already
handed out, so a run restored from a checkpoint continues with exactly the batches an
uninterrupted run would have seen.

For data-parallel training over K processes (:mod:`chainrule.distributed`), a loader made
with ``num_replicas=K, rank=r`` hands out only rank ``r``'s shard of each epoch's
permutation (:mod:`chainrule.data.sharding`: every K-th index, shards made equal by
``shard_tail``); give every rank the same ``seed``, so that all draw the same permutation.

>>> import chainrule as cr
>>> X, y = np.arange(10, dtype=np.float32).reshape(5, 2), np.array([0, 1, 0, 1, 1])
>>> loader = DataLoader(X, y, batch_size=2, shuffle=False)
>>> len(loader), [tuple(xb.shape) for xb, _ in loader]
(3, [(2, 2), (2, 2), (1, 2)])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.data.sharding import check_shard, shard_indices, shard_size
from chainrule.devices import Device
from chainrule.dtypes import as_dtype
from chainrule.errors import DataError
from chainrule.random import get_rng

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` pairs: float32 and int64 :class:`Tensor` s.

    ``X``: ``(N, ...)`` array-like, converted batch by batch (not rescaled) to ``dtype``:
    float32 by default, whatever X's own dtype (a float64 array too: models train in
    float32 unless made in float64); ``dtype=None`` keeps X's dtype. ``y``: ``(N,)``
    integer labels (``targets='labels'``), or real-valued targets ``(N, ...)`` for
    regression (``targets='values'``, converted to ``dtype`` like X). ``len(loader)`` is
    the number of batches per epoch: ``ceil(N / batch_size)``, or ``floor`` with
    ``drop_last``. The data stays
    in host memory; with ``device`` (``'cuda'``) each batch is moved there as it is handed
    out (the Trainer passes its model's device).

    ``num_replicas`` and ``rank`` shard every epoch for data-parallel training (PyTorch's
    ``DistributedSampler``): this loader yields rank ``rank``'s ``ceil(N / K)`` examples
    (``shard_tail="pad"``: the permutation's first examples fill the last shards) or
    ``floor(N / K)`` (``"drop"``); ``len(loader)`` counts the shard's batches. A sharded
    loader that shuffles needs an explicit ``seed``, the same on every rank.
    ``transform(X_batch, rng)``, when given, makes each batch's inputs instead
    (augmentation, normalization) with a generator seeded by the loader's seed, the epoch,
    the rank and the batch, so a resumed run draws the same augmentations.

    >>> loader = DataLoader(np.zeros((10, 3)), np.zeros(10, np.int64), batch_size=4, seed=0)
    >>> len(loader), sum(len(yb) for _, yb in loader)
    (3, 10)
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        batch_size: int = 128,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        *,
        dtype: Any = "float32",
        targets: str = "labels",
        num_replicas: int = 1,
        rank: int = 0,
        shard_tail: str = "pad",
        transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        device: Any = None,
    ) -> None:
        X = backend.to_numpy(X.data) if isinstance(X, Tensor) else np.asarray(X)
        y = backend.to_numpy(y.data) if isinstance(y, Tensor) else np.asarray(y)
        if targets not in ("labels", "values"):
            raise ValueError(f"DataLoader: targets must be 'labels' or 'values', got {targets!r}")
        if X.ndim == 0 or y.ndim == 0 or (targets == "labels" and y.ndim != 1):
            want = "(N,)" if targets == "labels" else "(N, ...)"
            raise DataError(
                f"DataLoader: expected X of shape (N, ...) and y of shape {want}, "
                f"got X {X.shape} and y {y.shape}"
            )
        if len(X) != len(y):
            raise DataError(f"DataLoader: X has {len(X):,} samples but y has {len(y):,} labels")
        self.dtype = as_dtype(dtype)
        if self.dtype is not None and self.dtype.kind != "f":
            raise ValueError(f"DataLoader: dtype must be a floating type, got {self.dtype}")
        self.targets = targets
        if targets == "values":
            if y.dtype.kind not in "fiub":
                raise DataError(f"DataLoader: targets must be numbers, got {y.dtype}")
            y = y.astype(self.dtype or (y.dtype if y.dtype.kind == "f" else np.float32),
                         copy=False)
        elif y.dtype.kind not in "iu":
            if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
                y = y.astype(np.int64)
            else:
                raise DataError(f"DataLoader: labels must be integers, got {y.dtype}")
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.X = X
        self.y = y if targets == "values" else y.astype(np.int64, copy=False)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.device = None if device is None else Device(device)
        check_shard(num_replicas, rank, shard_tail, "DataLoader")
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shard_tail = shard_tail
        if seed is None and shuffle and self.num_replicas > 1:
            raise ValueError("DataLoader: a sharded loader that shuffles needs a seed, the same "
                             "on every rank (all ranks must draw the same permutation)")
        if seed is None:
            seed = int(get_rng().integers(2**63 - 1))
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)
        self._epoch = 0  # epochs completed
        self._position = 0  # batches of the current epoch handed out
        self._epoch_start_state: dict = self._rng.bit_generator.state
        self._resume_pending = False

    def __len__(self) -> int:
        n = self.shard_samples
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.y)

    @property
    def shard_samples(self) -> int:
        """Examples this loader hands out per epoch: its shard, or all of them unsharded."""
        if self.num_replicas == 1:
            return len(self.y)
        return shard_size(len(self.y), self.num_replicas, self.shard_tail)

    @property
    def epoch(self) -> int:
        """Number of epochs fully iterated so far."""
        return self._epoch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.y)
        if self._resume_pending:  # continue the epoch that load_state_dict restored
            start = self._position
            self._rng.bit_generator.state = self._epoch_start_state
        else:  # a new epoch (an abandoned one, left by `break`, is not counted)
            start = 0
            self._epoch_start_state = self._rng.bit_generator.state
        self._resume_pending = False
        order = self._rng.permutation(n) if self.shuffle else None
        if self.num_replicas > 1:
            order = shard_indices(order if order is not None else np.arange(n),
                                  self.num_replicas, self.rank, self.shard_tail)
        size = self.shard_samples
        for b in range(start, len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, size)
            index: Any = order[lo:hi] if order is not None else slice(lo, hi)
            self._position = b + 1
            xb, yb = self.X[index], self.y[index]
            if self.transform is None:
                xb = np.asarray(xb, dtype=self.dtype)
            else:
                rng = np.random.default_rng((self.seed, self._epoch, self.rank, b))
                xb = np.asarray(self.transform(xb, rng), dtype=self.dtype)
            if self.device is not None:
                xb, yb = backend.to_device(xb, self.device), backend.to_device(yb, self.device)
            yield Tensor(xb), Tensor(yb)
        self._epoch += 1
        self._position = 0

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the batch sequence exactly: seed, epoch, position
        within the epoch, and the generator state at the epoch's start."""
        state = self._epoch_start_state if self._position else self._rng.bit_generator.state
        return {
            "seed": self.seed,
            "epoch": self._epoch,
            "position": self._position,
            "rng_state": state,
            "num_samples": len(self.y),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "num_replicas": self.num_replicas,
            "shard_tail": self.shard_tail,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output; the next iteration resumes where it was."""
        try:
            n, position = int(state["num_samples"]), int(state["position"])
            rng_state = state["rng_state"]
        except KeyError as e:
            raise DataError(f"DataLoader.load_state_dict: state is missing {e.args[0]!r}") from None
        if n != len(self.y):
            raise DataError(
                f"DataLoader.load_state_dict: the state is for {n:,} samples, this loader "
                f"has {len(self.y):,}"
            )
        for key in ("batch_size", "shuffle", "drop_last", "num_replicas", "shard_tail"):
            if key in state and state[key] != getattr(self, key):
                raise DataError(
                    f"DataLoader.load_state_dict: the state has {key}={state[key]!r}, "
                    f"this loader {key}={getattr(self, key)!r}"
                )
        if not 0 <= position <= len(self):
            raise DataError(f"DataLoader.load_state_dict: position {position} out of range")
        self.seed = int(state.get("seed", self.seed))
        self._epoch = int(state.get("epoch", 0))
        self._rng.bit_generator.state = rng_state
        self._epoch_start_state = self._rng.bit_generator.state
        self._position = position if position < len(self) else 0
        self._resume_pending = self._position > 0
        if position == len(self) and position:
            # The epoch's last batch was handed out but the loop had not closed it yet:
            # close it now, drawing the permutation that epoch used.
            if self.shuffle:
                self._rng.permutation(n)
            self._epoch += 1

    def __repr__(self) -> str:
        shard = (f", rank {self.rank} of {self.num_replicas} ({self.shard_samples:,} per rank)"
                 if self.num_replicas > 1 else "")
        return (
            f"DataLoader({len(self.y):,} samples{shard}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)"
        )
