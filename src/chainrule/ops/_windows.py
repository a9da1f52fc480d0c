"""The geometry the image ops share: kernel sizes, strides, padding, output sizes.

A convolution or pooling window of size ``k`` with dilation ``d`` spans ``d (k - 1) + 1``
pixels; sliding it with stride ``s`` over ``n`` pixels padded by ``p_lo + p_hi`` gives
``floor((n + p_lo + p_hi - d (k - 1) - 1) / s) + 1`` outputs (PyTorch's formula).
"""

from __future__ import annotations

from typing import Any

from chainrule.errors import ShapeError

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]


def pair(value: Any, name: str, op: str, minimum: int = 1) -> Pair:
    """``3`` or ``(3, 3)`` as ``(3, 3)``, each at least ``minimum``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
        out = (int(value[0]), int(value[1]))
    else:
        out = (int(value), int(value))
    if min(out) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return out


def symmetric(padding: Pair) -> Padding:
    """PyTorch's ``padding=(ph, pw)``: ``ph`` rows above and below, ``pw`` columns each side."""
    return (padding[0], padding[0]), (padding[1], padding[1])


def image_shape(shape: tuple, op: str) -> tuple[int, int, int, int]:
    """``(N, C, H, W)`` of an image batch's shape, or a ShapeError naming the op."""
    if len(shape) != 4:
        raise ShapeError(f"{op}: expected a batch of images (N, C, H, W), got an input of "
                         f"shape {tuple(shape)}")
    n, c, h, w = (int(s) for s in shape)
    return n, c, h, w


def output_size(op: str, shape: tuple, kernel: Pair, stride: Pair, padding: Padding,
                dilation: Pair, ceil_mode: bool = False) -> Pair:
    """``(Ho, Wo)``, or a ShapeError when the (padded) input is smaller than the window.

    ``ceil_mode`` rounds up (pooling), keeping the last window starting inside the
    input or its left padding, as PyTorch does.
    """
    sizes = []
    for axis in (0, 1):
        n = shape[2 + axis]
        lo, hi = padding[axis]
        extent = dilation[axis] * (kernel[axis] - 1) + 1
        span = n + lo + hi - extent
        if span < 0:
            raise ShapeError(
                f"{op}: input of shape {tuple(shape)} is too small for a "
                f"{kernel[0]}x{kernel[1]} kernel (padded size "
                f"{shape[2] + sum(padding[0])}x{shape[3] + sum(padding[1])}, window "
                f"{dilation[0] * (kernel[0] - 1) + 1}x{dilation[1] * (kernel[1] - 1) + 1})"
            )
        s = stride[axis]
        count = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (count - 1) * s >= n + lo:
            count -= 1
        sizes.append(count)
    return sizes[0], sizes[1]
