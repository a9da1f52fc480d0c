"""Losses as modules: ``loss_fn(scores, labels)`` or ``loss_fn(pred, target)``.

==========================  ===========================================================
module                      per-example loss (``reduction='mean'`` averages over N)
==========================  ===========================================================
``CrossEntropyLoss``        softmax loss ``-log(e^{s_y} / sum_j e^{s_j})``
``MulticlassHingeLoss``     SVM loss ``sum_{j != y} max(0, s_j - s_y + margin)``
``MSELoss``                 ``(pred - target)^2``, averaged over *all* elements
``L2Loss``                  the lecture's ``1/2 ||pred - target||^2`` per example
==========================  ===========================================================

PyTorch's ``MultiMarginLoss`` divides the hinge sum by the number of classes C; the
lecture's (and this) ``MulticlassHingeLoss`` does not. ``L2Loss`` with
``reduction='sum'`` is the loss of the lecture's ridge regression, ``1/2 sum ||y^ - y||^2``.

>>> loss_fn = nn.CrossEntropyLoss()
>>> loss_fn(cr.tensor([[3.2, 5.1, -1.7]]), np.array([0]))    # the lecture's cat: 2.04
"""

from __future__ import annotations

from typing import Any

import chainrule.functional as F
from chainrule._tensor import Tensor
from chainrule.nn.module import Module

__all__ = ["LOSSES", "CrossEntropyLoss", "L2Loss", "MSELoss", "MulticlassHingeLoss", "loss"]

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax (cross-entropy) loss from raw scores ``(N, C)`` and integer labels ``(N,)``."""

    def forward(self, scores: Tensor, labels: Any) -> Tensor:
        return F.cross_entropy(scores, labels, reduction=self.reduction)


class MulticlassHingeLoss(_Loss):
    """The lecture's multiclass SVM loss ``sum_{j != y} max(0, s_j - s_y + margin)``."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = float(margin)

    def forward(self, scores: Tensor, labels: Any) -> Tensor:
        return F.multiclass_hinge_loss(scores, labels, margin=self.margin,
                                       reduction=self.reduction)

    def extra_repr(self) -> str:
        rest = super().extra_repr()
        return f"margin={self.margin}" + (f", {rest}" if rest else "")


class MSELoss(_Loss):
    """Mean squared error over all elements (PyTorch's ``MSELoss``)."""

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.mse_loss(pred, target, reduction=self.reduction)


class L2Loss(_Loss):
    """``1/2 ||pred - target||^2`` per example (summed over outputs), mean over the batch."""

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.l2_loss(pred, target, reduction=self.reduction)


#: Classification losses by the names ``chainrule train --loss``, the training config and
#: the playground offer: the lecture's softmax and SVM losses.
LOSSES: dict[str, type[_Loss]] = {
    "softmax": CrossEntropyLoss,
    "svm": MulticlassHingeLoss,
}


def loss(name: str, **kwargs: Any) -> _Loss:
    """The classification loss called ``name`` (``softmax`` or ``svm``), built with ``kwargs``.

    >>> nn.loss("svm", margin=1.0)
    MulticlassHingeLoss(margin=1.0)
    """
    key = str(name).lower()
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid names are: {', '.join(LOSSES)}")
    return LOSSES[key](**kwargs)
