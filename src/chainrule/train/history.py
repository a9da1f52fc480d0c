"""The record of a run: :class:`History`, one row per epoch.

>>> h = History()
>>> h.append(train_loss=0.9, train_acc=0.7, val_acc=0.8, lr=0.1, seconds=1.5)
>>> h.append(train_loss=0.5, train_acc=0.8, val_acc=0.85, lr=0.1, seconds=1.4)
>>> len(h), h.best_epoch
(2, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch records of a run; index ``i`` is epoch ``i + 1``.

    ``train_loss`` is the mean data loss plus the regularization over the epoch's minibatches,
    ``train_acc`` the share of training examples classified right *while* training (dropout
    on, weights moving), ``val_acc`` the validation accuracy after the epoch (``nan`` without
    validation data), ``lr`` the learning rate the epoch used, ``seconds`` its wall time.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.train_loss)

    @property
    def best_epoch(self) -> int | None:
        """The 1-based epoch with the highest validation accuracy (``None`` without any)."""
        vals = [v for v in self.val_acc if not math.isnan(v)]
        if not vals:
            return None
        return int(np.nanargmax(np.asarray(self.val_acc))) + 1

    def append(self, *, train_loss: float, train_acc: float, val_acc: float, lr: float,
               seconds: float) -> None:
        self.train_loss.append(float(train_loss))
        self.train_acc.append(float(train_acc))
        self.val_acc.append(float(val_acc))
        self.lr.append(float(lr))
        self.seconds.append(float(seconds))

    def to_dict(self) -> dict:
        """JSON-ready lists (``nan`` becomes ``None``)."""
        def clean(xs: list[float]) -> list[float | None]:
            return [None if math.isnan(x) else x for x in xs]

        return {
            "epochs": len(self),
            "train_loss": clean(self.train_loss),
            "train_acc": clean(self.train_acc),
            "val_acc": clean(self.val_acc),
            "lr": clean(self.lr),
            "seconds": clean(self.seconds),
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, d: dict | None) -> History:
        """Inverse of :meth:`to_dict`."""
        if not d:
            return cls()

        def nums(key: str) -> list[float]:
            return [math.nan if x is None else float(x) for x in d.get(key, [])]

        return cls(nums("train_loss"), nums("train_acc"), nums("val_acc"), nums("lr"),
                   nums("seconds"))
