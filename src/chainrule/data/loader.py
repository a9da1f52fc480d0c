"""DataLoader: minibatches of ``(X, y)`` as Tensors, reshuffled every epoch, resumable.

Minibatch stochastic gradient descent (the lecture's training loop) takes a small random
batch of the training data at each step; one pass over all batches is an epoch.

The loader owns its random generator (seeded with ``seed``, or drawn from
``cr.get_rng()`` so that ``cr.manual_seed`` reproduces it): every epoch's order is a new
permutation from that generator. :meth:`DataLoader.state_dict` captures the generator as
it was at the start of the current epoch and how many batches of the epoch were already
handed out, so a run restored from a checkpoint continues with exactly the batches an
uninterrupted run would have seen.

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

from chainrule._tensor import Tensor
from chainrule.errors import DataError
from chainrule.random import get_rng

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` pairs: float32 and int64 :class:`Tensor` s.

    ``X``: ``(N, ...)`` array-like (converted to float32 batch by batch, not rescaled);
    ``y``: ``(N,)`` integer labels. ``len(loader)`` is the number of batches per epoch:
    ``ceil(N / batch_size)``, or ``floor`` with ``drop_last``. ``transform(X_batch, rng)``,
    when given, makes each batch's inputs instead (augmentation, normalization) with a
    generator seeded by the loader's seed, the epoch and the batch, so a resumed run
    draws the same augmentations.

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
        transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    ) -> None:
        X = X.data if isinstance(X, Tensor) else np.asarray(X)
        y = y.data if isinstance(y, Tensor) else np.asarray(y)
        if X.ndim == 0 or y.ndim != 1:
            raise DataError(
                f"DataLoader: expected X of shape (N, ...) and y of shape (N,), "
                f"got X {X.shape} and y {y.shape}"
            )
        if len(X) != len(y):
            raise DataError(f"DataLoader: X has {len(X):,} samples but y has {len(y):,} labels")
        if y.dtype.kind not in "iu":
            if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
                y = y.astype(np.int64)
            else:
                raise DataError(f"DataLoader: labels must be integers, got {y.dtype}")
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.X, self.y = X, y.astype(np.int64, copy=False)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        if seed is None:
            seed = int(get_rng().integers(2**63 - 1))
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)
        self._epoch = 0  # epochs completed
        self._position = 0  # batches of the current epoch handed out
        self._epoch_start_state: dict = self._rng.bit_generator.state
        self._resume_pending = False

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.y)

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
        for b in range(start, len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, n)
            index: Any = order[lo:hi] if order is not None else slice(lo, hi)
            self._position = b + 1
            if self.transform is None:
                inputs = np.asarray(self.X[index], dtype=np.float32)
            else:
                rng = np.random.default_rng((self.seed, self._epoch, b))
                inputs = self.transform(self.X[index], rng)
            yield Tensor(inputs), Tensor(self.y[index])
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
        for key in ("batch_size", "shuffle", "drop_last"):
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
        return (
            f"DataLoader({len(self.y):,} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)"
        )
