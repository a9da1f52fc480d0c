"""Batch normalization layers: ``BatchNorm1d`` for features, ``BatchNorm2d`` for images.

Both normalize each channel (axis 1) with the batch's statistics in training and with
running statistics in evaluation (``model.train()`` / ``model.eval()``), through one op,
:func:`chainrule.functional.batch_norm`, which also updates the running statistics, so a
compiled training step (``cr.compile``) replays them faithfully. Parameter and buffer
names are PyTorch's (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), so state dicts are interchangeable.
"""

from __future__ import annotations

from typing import Any

import chainrule.functional as F
from chainrule._tensor import Tensor
from chainrule.creation import full, zeros
from chainrule.errors import ShapeError
from chainrule.nn.layers import _float_dtype
from chainrule.nn.module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """What both layers share: parameters, buffers, the call of the op."""

    #: The input ranks the layer takes, and how its error message writes them.
    ranks: tuple[int, ...] = ()
    expected = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = None, device: Any = None) -> None:
        super().__init__()
        dt = _float_dtype(dtype)
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(full(num_features, 1.0, dtype=dt, device=device))
            self.bias = Parameter(zeros(num_features, dtype=dt, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dt, device=device))
            self.register_buffer("running_var", full(num_features, 1.0, dtype=dt, device=device))
            self.register_buffer("num_batches_tracked",
                                 full((), 0, dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            c = self.num_features
            raise ShapeError(f"{type(self).__name__}({c}): expected input of shape "
                             f"{self.expected.format(c=c)}, got {tuple(x.shape)}")
        # Without running statistics (track_running_stats=False) the batch's are used
        # in evaluation too.
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, self.momentum,
                            self.eps, num_batches_tracked=self.num_batches_tracked)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over the batch of ``(N, C)`` or ``(N, C, L)`` inputs.

    Training: normalize with the batch mean and (biased) variance per feature, and
    update ``running_mean``/``running_var`` (the variance unbiased) with
    ``running = (1 - momentum) running + momentum batch`` (``momentum=None``: a
    cumulative average). Evaluation: normalize with the running statistics. Then scale
    by ``weight`` (gamma, init 1) and shift by ``bias`` (beta, init 0).

    >>> nn.BatchNorm1d(100)(cr.randn(64, 100)).shape
    (64, 100)
    """

    ranks = (2, 3)
    expected = "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` images: one mean and variance per channel,
    over the batch and all pixels (``N * H * W`` values), as :class:`BatchNorm1d` does per
    feature.

    >>> nn.BatchNorm2d(32)(cr.randn(8, 32, 16, 16)).shape
    (8, 32, 16, 16)
    """

    ranks = (4,)
    expected = "(N, {c}, H, W)"
