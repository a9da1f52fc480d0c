"""The convolutional layer: ``Conv2d``, PyTorch's names, shapes and initialization.

A ``Conv2d(C, O, k)`` layer holds ``O`` filters of shape ``(C, k, k)``: each slides over
the image and takes a dot product with every window, giving one feature map per filter.
The gate behind it (:func:`chainrule.functional.conv2d`) computes all of them as one
matrix product of the unfolded windows with the filters.
"""

from __future__ import annotations

from typing import Any

import chainrule.functional as F
from chainrule._tensor import Tensor
from chainrule.creation import zeros
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.layers import _float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.ops._windows import pair

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution over NCHW images: ``out[n, o] = b[o] + sum_c W[o, c] * x[n, c]``.

    ``weight`` has PyTorch's shape ``(out_channels, in_channels / groups, kh, kw)`` and
    ``bias`` ``(out_channels,)``; both start as ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with
    ``fan_in = in_channels / groups * kh * kw`` (PyTorch's default,
    ``kaiming_uniform_(weight, a=sqrt(5))``). ``padding`` is an int, a pair, ``'valid'`` or
    ``'same'``. The parameters are drawn on ``device`` (default: the CPU).

    >>> conv = nn.Conv2d(3, 32, 3, padding=1)     # 32 filters of 3x3 over RGB images
    >>> conv(cr.randn(8, 3, 32, 32)).shape
    (8, 32, 32, 32)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = None, device: Any = None) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: in_channels and out_channels must be >= 1, got "
                             f"{in_channels} and {out_channels}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {padding!r}")
        dt = _float_dtype(dtype)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding",
                                                                     "Conv2d", minimum=0)
        self.dilation = pair(dilation, "dilation", "Conv2d")
        self.groups = int(groups)
        self.weight = Parameter(zeros(out_channels, in_channels // groups, *self.kernel_size,
                                      dtype=dt, device=device))
        if bias:
            self.bias = Parameter(zeros(out_channels, dtype=dt, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
        init.layer_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d({self.extra_repr()}): expected input of shape (N, "
                             f"{self.in_channels}, H, W), got {tuple(x.shape)}")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
