"""Inverted dropout as one gate: of single elements (``dropout``) or whole channels
(``dropout2d``).

In training each element is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``,
so the expected activation is unchanged and evaluation passes the input through. The mask
is drawn inside ``forward`` from chainrule's seeded generator of the input's device, so a
replayed (compiled) step draws a fresh mask every time, exactly as the eager step does.
"""

from __future__ import annotations

from typing import Any

from chainrule import backend, random
from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import UnaryGate


def _mask(x: Any, shape: tuple, p: float) -> Any:
    """Inverted dropout's mask of ``shape`` (broadcast over ``x``): ``1 / (1 - p)`` where
    a uniform draw is ``>= p``, else 0; all zeros for ``p = 1``."""
    xp = backend.namespace(x)
    if p >= 1.0:
        return xp.zeros(shape, dtype=x.dtype, device=x.device)
    keep = random.random(shape, backend.device_of(x)) >= p
    scale = xp.asarray(1.0 / (1.0 - p), dtype=x.dtype, device=x.device)
    return backend.astype(keep, x.dtype) * scale


class Dropout(UnaryGate):
    """``x * mask / (1 - p)`` with a random keep-mask; backward multiplies by the same mask."""

    symbol = "dropout"
    kernel = "chainrule.compiler.activation_kernels:DropoutKernel"
    parameters = ("p",)

    @staticmethod
    def forward(ctx: Context, x: Any, p: float) -> Any:
        mask = ctx.mask = _mask(x, x.shape, p)
        return x * mask

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream * ctx.mask, None


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` (and scale the rest) when ``training``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, float(p))


class Dropout2d(UnaryGate):
    """Channel dropout: ``x * mask / (1 - p)`` with one keep-or-drop draw per (image,
    channel), so a feature map is kept or zeroed whole; backward uses the same mask."""

    symbol = "dropout2d"
    parameters = ("p",)

    @staticmethod
    def forward(ctx: Context, x: Any, p: float) -> Any:
        if x.ndim != 4:
            raise ShapeError(f"dropout2d: expected a batch of images (N, C, H, W), got an "
                             f"input of shape {tuple(x.shape)}")
        mask = ctx.mask = _mask(x, (x.shape[0], x.shape[1], 1, 1), p)
        return x * mask

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream * ctx.mask, None


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels of an NCHW batch with probability ``p`` (scaling the rest) when
    ``training``: neighbouring pixels are correlated, so dropping single pixels of a
    feature map regularizes little.

    >>> F.dropout2d(cr.ones(2, 4, 3, 3), 0.5).shape
    (2, 4, 3, 3)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    return Dropout2d.apply(x, float(p))
