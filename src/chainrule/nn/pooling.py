"""Pooling layers: ``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d`` (PyTorch's names).

Pooling shrinks feature maps by summarizing each window: the max (a gradient router, as
the lecture's max gate) or the mean. ``AdaptiveAvgPool2d(1)`` is global average pooling:
one number per channel, whatever the image size, which is what lets a ConvNet end in a
small linear classifier.
"""

from __future__ import annotations

from typing import Any

import chainrule.functional as F
from chainrule._tensor import Tensor
from chainrule.nn.module import Module
from chainrule.ops._windows import pair

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d"]


class MaxPool2d(Module):
    """Max over ``kernel_size`` windows (``stride`` defaults to ``kernel_size``).

    >>> nn.MaxPool2d(2)(cr.randn(8, 32, 32, 32)).shape
    (8, 32, 16, 16)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride",
                                                                    "MaxPool2d")
        self.padding = pair(padding, "padding", "MaxPool2d", minimum=0)
        self.dilation = pair(dilation, "dilation", "MaxPool2d")
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows (``stride`` defaults to ``kernel_size``).

    >>> nn.AvgPool2d(2)(cr.randn(8, 32, 32, 32)).shape
    (8, 32, 16, 16)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", "AvgPool2d")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride",
                                                                    "AvgPool2d")
        self.padding = pair(padding, "padding", "AvgPool2d", minimum=0)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size``; ``AdaptiveAvgPool2d(1)``: global pooling.

    >>> nn.AdaptiveAvgPool2d(1)(cr.randn(8, 128, 4, 4)).shape
    (8, 128, 1, 1)
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
