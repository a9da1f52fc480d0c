"""Pooling gates over image windows: max (a gradient router), average and adaptive average.

**Max pooling** is the lecture's max gate applied to every window: forward keeps the
largest value of each window, backward routes the whole upstream gradient to that one
input and gives the others 0. **Ties**: when several inputs of a window share the
maximum, the gradient goes to the first of them in row-major order within the window
(top row first, then left to right), as PyTorch does.

**Average pooling** is a linear gate: each output is the mean of its window, so backward
hands every input of the window ``upstream / window size`` (a pixel in several windows
gets the sum). **Adaptive average pooling** chooses the windows to give a requested
output size (bin ``i`` of ``n`` inputs -> ``Ho`` outputs covers
``floor(i n / Ho) .. ceil((i + 1) n / Ho)``) and is written as two matrix products,
``out = A_h @ x @ A_w^T``, so its backward is ``A_h^T @ upstream @ A_w``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule._images import (
    average_divisors,
    bin_matrix,
    channels_last,
    fold_windows,
    masked,
    window_view,
)
from chainrule._tensor import Tensor
from chainrule.backend import namespace
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import UnaryGate
from chainrule.ops._windows import Padding, Pair, image_shape, output_size, pair, symmetric

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d", "adaptive_avg_pool2d", "avg_pool2d",
    "max_pool2d",
]


def _extra_right(shape: tuple, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair,
                 out: Pair) -> Padding:
    """Padding plus what the last (ceil-mode) windows need beyond the bottom/right edge."""
    result = []
    for axis in (0, 1):
        lo, hi = padding[axis]
        needed = (out[axis] - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
        have = shape[2 + axis] + lo + hi
        result.append((lo, hi + max(0, needed - have)))
    return result[0], result[1]


def _check_padding(op: str, kernel: Pair, padding: Pair, dilation: Pair = (1, 1)) -> None:
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{op}: padding {padding} must be at most half the kernel "
                             f"{kernel} (a window of padding only would have no input)")


class MaxPool2d(UnaryGate):
    """Max over each window; backward routes upstream to the window's (first) maximum."""

    symbol = "max_pool2d"
    parameters = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    pattern = "max gate: gradient router"
    differentiable_backward = False

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "upstream routed to the max of each window (first one on ties), 0 elsewhere"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel: Pair, stride: Pair, padding: Pair,
                dilation: Pair, ceil_mode: bool) -> Any:
        shape = image_shape(x.shape, "max_pool2d")
        pads = symmetric(padding)
        ho, wo = output_size("max_pool2d", shape, kernel, stride, pads, dilation, ceil_mode)
        ctx.tiles = (stride == kernel and padding == (0, 0) and dilation == (1, 1)
                     and ho * kernel[0] <= shape[2] and wo * kernel[1] <= shape[3])
        if ctx.tiles:
            return _max_tiles(ctx, x, kernel, (ho, wo))
        pads = _extra_right(shape, kernel, stride, pads, dilation, (ho, wo))
        xp = namespace(x)
        padded = channels_last(x, pads, value=-math.inf)
        n, _, _, c = padded.shape
        windows = xp.reshape(window_view(padded, kernel, stride, dilation),
                             (n, ho, wo, kernel[0] * kernel[1], c))
        ctx.argmax = xp.argmax(windows, axis=3)
        ctx.geometry = (shape, padded.shape, kernel, stride, pads, dilation)
        return xp.permute_dims(xp.max(windows, axis=3), (0, 3, 1, 2))

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        if ctx.tiles:
            return _route_tiles(ctx, upstream), None, None, None, None, None
        shape, padded_shape, kernel, stride, pads, dilation = ctx.geometry
        xp = namespace(upstream)
        up = xp.permute_dims(upstream, (0, 2, 3, 1))
        n, ho, wo, c = up.shape
        taps = xp.reshape(xp.arange(kernel[0] * kernel[1]), (1, 1, 1, -1, 1))
        routed = masked(taps == ctx.argmax[:, :, :, None, :], up[:, :, :, None, :])
        windows = xp.reshape(routed, (n, ho, wo, kernel[0], kernel[1], c))
        return _unpad(fold_windows(windows, padded_shape, stride, dilation), shape, pads), \
            None, None, None, None, None


def _tiles(x_last: Any, kernel: Pair, out: Pair) -> list:
    """The windows' taps of non-overlapping pooling, in row-major order: for each ``(a, b)``
    of the kernel, the (N, Ho, Wo, C) view of every window's pixel ``(a, b)``."""
    (kh, kw), (ho, wo) = kernel, out
    return [x_last[:, a:a + kh * (ho - 1) + 1:kh, b:b + kw * (wo - 1) + 1:kw, :] for a in range(kh)
            for b in range(kw)]


def _max_tiles(ctx: Context, x: Any, kernel: Pair, out: Pair) -> Any:
    """Max pooling whose windows tile the image (stride = kernel): the max of strided
    views, no window copy."""
    xp = namespace(x)
    taps = _tiles(xp.permute_dims(x, (0, 2, 3, 1)), kernel, out)
    best = taps[0]
    for tap in taps[1:]:
        best = xp.maximum(best, tap)
    ctx.save_for_backward(x, best)
    ctx.kernel = kernel
    return xp.permute_dims(best, (0, 3, 1, 2))


def _route_tiles(ctx: Context, upstream: Any) -> Any:
    """Upstream to each window's first maximum: the index of the first tap equal to the
    max, then one pass that puts the upstream at that tap and 0 at the others."""
    x, best = ctx.saved_tensors
    xp = namespace(x)
    n, c, h, w = x.shape
    (kh, kw), (ho, wo) = ctx.kernel, best.shape[1:3]
    taps = _tiles(xp.permute_dims(x, (0, 2, 3, 1)), ctx.kernel, (ho, wo))
    found = taps[0] == best
    first = xp.zeros(best.shape, dtype=xp.int16)
    for k in range(1, len(taps)):
        hit = (taps[k] == best) & ~found
        first += xp.astype(hit, xp.int16) * k
        found |= hit
    index = xp.reshape(xp.arange(kh * kw, dtype=xp.int16), (1, 1, kh, 1, kw, 1))
    up = xp.permute_dims(upstream, (0, 2, 3, 1))
    routed = masked(first[:, :, None, :, None, :] == index, up[:, :, None, :, None, :])
    routed = xp.reshape(routed, (n, ho * kh, wo * kw, c))  # (N, Ho, kh, Wo, kw, C): pixels
    if (ho * kh, wo * kw) != (h, w):  # rows and columns no window covers get 0
        grad = xp.zeros((n, h, w, c), dtype=upstream.dtype)
        grad[:, :ho * kh, :wo * kw, :] = routed
        routed = grad
    return xp.permute_dims(routed, (0, 3, 1, 2))


def _unpad(padded: Any, shape: tuple, pads: Padding) -> Any:
    """The (N, C, H, W) image inside a channels-last padded gradient."""
    xp = namespace(padded)
    (top, _), (left, _) = pads
    return xp.permute_dims(padded[:, top:top + shape[2], left:left + shape[3], :], (0, 3, 1, 2))


class AvgPool2d(UnaryGate):
    """Mean over each window; backward spreads ``upstream / window size`` over the window."""

    symbol = "avg_pool2d"
    parameters = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    differentiable_backward = False

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "upstream / window size, to every input of each window"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel: Pair, stride: Pair, padding: Pair,
                ceil_mode: bool, count_include_pad: bool) -> Any:
        shape = image_shape(x.shape, "avg_pool2d")
        pads = symmetric(padding)
        ho, wo = output_size("avg_pool2d", shape, kernel, stride, pads, (1, 1), ceil_mode)
        pads = _extra_right(shape, kernel, stride, pads, (1, 1), (ho, wo))
        xp = namespace(x)
        padded = channels_last(x, pads)
        divisor = backend.asarray(average_divisors(
            shape, kernel, stride, padding, (ho, wo), count_include_pad,
            backend.numpy_dtype(x.dtype)), like=x)
        windows = window_view(padded, kernel, stride, (1, 1))
        out = xp.sum(windows, axis=(3, 4)) / divisor
        ctx.divisor = divisor
        ctx.geometry = (shape, padded.shape, kernel, stride, pads)
        return xp.permute_dims(out, (0, 3, 1, 2))

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        shape, padded_shape, kernel, stride, pads = ctx.geometry
        xp = namespace(upstream)
        share = xp.permute_dims(upstream, (0, 2, 3, 1)) / ctx.divisor
        n, ho, wo, c = share.shape
        windows = xp.broadcast_to(share[:, :, :, None, None, :],
                                  (n, ho, wo, kernel[0], kernel[1], c))
        return _unpad(fold_windows(windows, padded_shape, stride, (1, 1)), shape, pads), \
            None, None, None, None, None


class AdaptiveAvgPool2d(UnaryGate):
    """Average over the bins that give output size ``(Ho, Wo)``: ``out = A_h @ x @ A_w^T``.

    Global average pooling (``(1, 1)``) is the mean over each channel's pixels.
    """

    symbol = "adaptive_avg_pool2d"
    parameters = ("output_size",)
    differentiable_backward = False

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "A_h^T @ upstream @ A_w (each input gets upstream / its bin's size)"

    @staticmethod
    def forward(ctx: Context, x: Any, size: Pair) -> Any:
        n, c, h, w = image_shape(x.shape, "adaptive_avg_pool2d")
        xp = namespace(x)
        ctx.shape = (n, c, h, w)
        ctx.bins = None
        if size == (1, 1):
            return xp.mean(x, axis=(2, 3), keepdims=True)
        dtype = backend.numpy_dtype(x.dtype)
        a_h = backend.asarray(bin_matrix(h, size[0], dtype), like=x)
        a_w = backend.asarray(bin_matrix(w, size[1], dtype), like=x)
        ctx.bins = (a_h, a_w)
        return xp.matmul(xp.matmul(a_h, x), xp.permute_dims(a_w, (1, 0)))

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        n, c, h, w = ctx.shape
        xp = namespace(upstream)
        if upstream.shape[2:] == (1, 1) and ctx.bins is None:  # channels-last, as convs give
            share = xp.permute_dims(upstream / (h * w), (0, 2, 3, 1))
            spread = xp.asarray(xp.broadcast_to(share, (n, h, w, c)), copy=True)
            return xp.permute_dims(spread, (0, 3, 1, 2)), None
        a_h, a_w = ctx.bins
        return xp.matmul(xp.matmul(xp.permute_dims(a_h, (1, 0)), upstream), a_w), None


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """Max over ``kernel_size`` windows of an NCHW batch (``stride`` defaults to the kernel).

    >>> F.max_pool2d(cr.randn(2, 8, 32, 32), 2).shape
    (2, 8, 16, 16)
    """
    kernel = pair(kernel_size, "kernel_size", "max_pool2d")
    stride_ = kernel if stride is None else pair(stride, "stride", "max_pool2d")
    padding_ = pair(padding, "padding", "max_pool2d", minimum=0)
    dilation_ = pair(dilation, "dilation", "max_pool2d")
    _check_padding("max_pool2d", kernel, padding_, dilation_)
    return MaxPool2d.apply(x, kernel, stride_, padding_, dilation_, bool(ceil_mode))


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over ``kernel_size`` windows of an NCHW batch (``stride`` defaults to the kernel).

    ``count_include_pad``: padded zeros count in the window size (PyTorch's default).

    >>> F.avg_pool2d(cr.randn(2, 8, 32, 32), 2).shape
    (2, 8, 16, 16)
    """
    kernel = pair(kernel_size, "kernel_size", "avg_pool2d")
    stride_ = kernel if stride is None else pair(stride, "stride", "avg_pool2d")
    padding_ = pair(padding, "padding", "avg_pool2d", minimum=0)
    _check_padding("avg_pool2d", kernel, padding_)
    return AvgPool2d.apply(x, kernel, stride_, padding_, bool(ceil_mode), bool(count_include_pad))


def adaptive_avg_pool2d(x: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size; ``output_size=1`` is global average pooling.

    ``None`` in ``output_size`` keeps that dimension of the input.

    >>> F.adaptive_avg_pool2d(cr.randn(2, 64, 8, 8), 1).shape
    (2, 64, 1, 1)
    """
    if isinstance(x, Tensor) and x.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: expected a batch of images (N, C, H, W), got "
                         f"an input of shape {tuple(x.shape)}")
    sizes = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * 2
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, "
                         f"got {output_size!r}")
    size = tuple(int(x.shape[2 + i]) if s is None else int(s) for i, s in enumerate(sizes))
    if min(size) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be >= 1, got {output_size!r}")
    return AdaptiveAvgPool2d.apply(x, size)
