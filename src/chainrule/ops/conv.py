"""Two-dimensional convolution as one gate, computed as one matrix product per group.

**Unfold (im2col).** Every ``kh x kw`` window of the zero-padded input, across its ``C``
channels, becomes one row of a matrix ``X_col`` of shape ``(N*Ho*Wo, kh*kw*C)``; the
weight ``(O, C, kh, kw)`` becomes ``W_col`` of shape ``(kh*kw*C, O)``. The convolution is
then the lecture's matrix multiply, with a bias per output channel::

    out = X_col @ W_col + b                 (N*Ho*Wo, O), read as (N, O, Ho, Wo)

**Backward** is the lecture's rule for ``y = x w`` with the unfolded input as ``x``::

    dW_col = X_col^T @ upstream      dX_col = upstream @ W_col^T      db = sum of upstream rows

and ``dX_col`` is folded back (col2im): each window's gradient is added to the pixels it
was read from, so a pixel that lies in several windows receives the sum (the copy gate).
For stride 1 the same sum is computed as a convolution: ``dX`` is the upstream, padded by
``d (k - 1) - p``, convolved with the filters flipped and with in and out channels swapped
(the "transposed convolution"), which needs no fold. With ``groups`` G the channels split
into G independent convolutions, one product each.

Images are NCHW (PyTorch's layout); the output's memory is channels-last (see
:func:`chainrule._images.channels_last`), which makes every window a block of rows. The
unfolded matrix, ``kh*kw`` times the size of the input, is made and multiplied in blocks
that fit the CPU cache and never held whole (:func:`chainrule._images.unfold_matmul`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from chainrule._images import channels_last, matmul_fold, unfold_matmul, unfold_t_matmul
from chainrule._tensor import Tensor
from chainrule.backend import namespace
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import Gate, operand, shape_text
from chainrule.ops._windows import Padding, Pair, image_shape, output_size, pair, symmetric

__all__ = ["Conv2d", "ConvGeometry", "conv2d", "conv_geometry", "conv_padding", "convolve",
           "weight_matrix"]


class ConvGeometry(NamedTuple):
    """The sizes of one convolution: input ``(n, c, h, w)``, ``o`` filters, output ``ho x wo``."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kernel: Pair
    stride: Pair
    padding: Padding
    dilation: Pair
    groups: int
    ho: int
    wo: int

    @property
    def rows(self) -> int:
        """Rows of the unfolded input: one per output position, ``N * Ho * Wo``."""
        return self.n * self.ho * self.wo

    @property
    def depth(self) -> int:
        """Columns of the unfolded input per group: ``kh * kw * C / groups``."""
        return self.kernel[0] * self.kernel[1] * (self.c // self.groups)

    @property
    def padded(self) -> tuple[int, int, int, int]:
        """The channels-last shape of the padded input, ``(N, H', W', C)``."""
        (top, bottom), (left, right) = self.padding
        return self.n, self.h + top + bottom, self.w + left + right, self.c


def conv_geometry(x_shape: tuple, w_shape: tuple, bias_shape: tuple | None, stride: Pair,
                  padding: Padding, dilation: Pair, groups: int) -> ConvGeometry:
    """Check that input, weight and bias fit, and work out the output size."""
    n, c, h, w = image_shape(x_shape, "conv2d")
    if len(w_shape) != 4:
        raise ShapeError(f"conv2d: weight must be (out_channels, in_channels/groups, kh, kw), "
                         f"got shape {tuple(w_shape)}")
    o, cg = int(w_shape[0]), int(w_shape[1])
    if groups < 1 or c % groups or o % groups:
        raise ShapeError(f"conv2d: groups={groups} must divide both the {c} input channels of "
                         f"input {tuple(x_shape)} and the {o} filters of weight {tuple(w_shape)}")
    if c // groups != cg:
        raise ShapeError(f"conv2d: input of shape {tuple(x_shape)} has {c} channels but weight "
                         f"of shape {tuple(w_shape)} expects {cg * groups} "
                         f"({cg} per group x {groups} groups)")
    if bias_shape is not None and tuple(bias_shape) != (o,):
        raise ShapeError(f"conv2d: bias of shape {tuple(bias_shape)} does not fit weight of "
                         f"shape {tuple(w_shape)} (expected ({o},))")
    kernel = (int(w_shape[2]), int(w_shape[3]))
    ho, wo = output_size("conv2d", (n, c, h, w), kernel, stride, padding, dilation)
    return ConvGeometry(n, c, h, w, o, kernel, stride, padding, dilation, groups, ho, wo)


def weight_matrix(weight: Any, g: ConvGeometry) -> Any:
    """``W_col`` per group, ``(G, kh*kw*C/G, O/G)``: row ``(a, b, c)`` multiplies channel
    ``c`` of a window's pixel ``(a, b)``, the order in which the windows are unfolded."""
    xp = namespace(weight)
    kh, kw = g.kernel
    split = xp.reshape(weight, (g.groups, g.o // g.groups, g.c // g.groups, kh, kw))
    return xp.reshape(xp.permute_dims(split, (0, 3, 4, 2, 1)), (g.groups, g.depth, g.o // g.groups))


def _group(a: Any, k: int, groups: int) -> Any:
    """Group ``k``'s channels of a channels-last array (the last axis)."""
    size = a.shape[-1] // groups
    return a if groups == 1 else a[..., k * size:(k + 1) * size]


def convolve(padded: Any, w_col: Any, g: ConvGeometry) -> Any:
    """``X_col @ W_col`` per group, from the channels-last padded input: ``(N, Ho, Wo, O)``."""
    xp = namespace(padded)
    parts = []
    for k in range(g.groups):
        part = xp.empty((g.n, g.ho, g.wo, g.o // g.groups), dtype=w_col.dtype,
                        device=padded.device)
        parts.append(unfold_matmul(_group(padded, k, g.groups), g.kernel, g.stride, g.dilation,
                                   w_col[k, ...], part))
    return parts[0] if g.groups == 1 else xp.concat(parts, axis=-1)


def transposed_geometry(g: ConvGeometry) -> ConvGeometry | None:
    """The stride-1 convolution that maps the upstream ``(N, O, Ho, Wo)`` to ``dX``
    ``(N, C, H, W)``: padding ``d (k - 1) - p`` per side; None if the convolution has a
    stride, or padding wider than its kernel (then backward folds)."""
    if g.stride != (1, 1):
        return None
    pads = []
    for axis in (0, 1):
        extent = g.dilation[axis] * (g.kernel[axis] - 1)
        lo, hi = (extent - p for p in g.padding[axis])
        if lo < 0 or hi < 0:
            return None
        pads.append((lo, hi))
    return conv_geometry((g.n, g.o, g.ho, g.wo), (g.c, g.o // g.groups, *g.kernel), None,
                         (1, 1), (pads[0], pads[1]), g.dilation, g.groups)


def flipped_matrix(w_col: Any, g: ConvGeometry) -> Any:
    """``W_col`` of the transposed convolution: taps flipped, in and out channels swapped,
    ``(G, kh*kw*O/G, C/G)``."""
    xp = namespace(w_col)
    kh, kw = g.kernel
    cg, og = g.c // g.groups, g.o // g.groups
    taps = xp.reshape(w_col, (g.groups, kh, kw, cg, og))
    taps = xp.flip(taps, axis=(1, 2))
    return xp.reshape(xp.permute_dims(taps, (0, 1, 2, 4, 3)), (g.groups, kh * kw * og, cg))


class Conv2d(Gate):
    """``conv2d(x, weight, bias)``: NCHW input, weight ``(O, C/groups, kh, kw)`` (PyTorch's).

    Forward ``out = X_col @ W_col + b`` on the unfolded input; backward the matrix
    multiply's rule ``dW = X_col^T @ upstream``, ``dX_col = upstream @ W_col^T`` (then
    folded back onto the pixels), ``db = sum of upstream`` (see the module docstring).
    ``X_col`` is never held whole: it is made block by block inside the products, from
    the padded input that forward keeps (:func:`chainrule._images.unfold_matmul`).
    """

    symbol = "conv2d"
    operands = ("x", "weight", "bias")
    parameters = ("stride", "padding", "dilation", "groups")
    differentiable_backward = False

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        x, w = inputs[0], inputs[1]
        n, _, ho, wo = output.shape
        o, cg, kh, kw = w.shape
        rows, depth = f"{n * ho * wo}", f"{kh * kw * cg}"
        if k == 0:
            return (f"col2im(upstream ({rows}x{o}) @ W_col^T ({o}x{depth})) -> "
                    f"{shape_text(tuple(x.shape))}")
        if k == 1:
            return (f"X_col^T ({depth}x{rows}) @ upstream ({rows}x{o}), as "
                    f"{shape_text((o, cg, kh, kw))}")
        return f"sum of upstream over N, Ho, Wo -> ({o},)"

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, stride: Pair, padding: Padding,
                dilation: Pair, groups: int) -> Any:
        g = conv_geometry(x.shape, weight.shape, None if bias is None else bias.shape,
                          stride, padding, dilation, groups)
        xp = namespace(x, weight)
        padded = channels_last(x, g.padding)
        w_col = weight_matrix(weight, g)
        out = xp.permute_dims(convolve(padded, w_col, g), (0, 3, 1, 2))
        if bias is not None:
            out += xp.reshape(bias, (1, g.o, 1, 1))
        ctx.save_for_backward(padded, w_col)
        ctx.geometry = g
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        padded, w_col = ctx.saved_tensors
        g: ConvGeometry = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        xp = namespace(upstream)
        up = xp.permute_dims(upstream, (0, 2, 3, 1))  # (N, Ho, Wo, O)
        gx = gw = gb = None
        if need_w:  # dW_col = X_col^T @ upstream, per group
            kh, kw = g.kernel
            d_col = xp.stack([unfold_t_matmul(_group(padded, k, g.groups), g.kernel, g.stride,
                                              g.dilation, _group(up, k, g.groups))
                              for k in range(g.groups)])
            d_col = xp.reshape(d_col, (g.groups, kh, kw, g.c // g.groups, g.o // g.groups))
            gw = xp.reshape(xp.permute_dims(d_col, (0, 4, 3, 1, 2)),
                            (g.o, g.c // g.groups, kh, kw))
        if need_b:
            gb = xp.sum(up, axis=(0, 1, 2))
        if need_x:
            gx = _input_gradient(upstream, up, w_col, g)
        return gx, gw, gb, None, None, None, None


def _input_gradient(upstream: Any, up: Any, w_col: Any, g: ConvGeometry) -> Any:
    """dX: ``upstream @ W_col^T`` folded back onto the pixels; for stride 1 the same sum
    as the convolution of the padded upstream with the flipped filters."""
    xp = namespace(upstream)
    back = transposed_geometry(g)
    if back is not None:
        grad = convolve(channels_last(upstream, back.padding), flipped_matrix(w_col, g), back)
        return xp.permute_dims(grad, (0, 3, 1, 2))
    cg = g.c // g.groups
    parts = [matmul_fold(_group(up, k, g.groups), xp.permute_dims(w_col[k, ...], (1, 0)),
                         (*g.padded[:3], cg), g.kernel, g.stride, g.dilation)
             for k in range(g.groups)]
    padded = parts[0] if g.groups == 1 else xp.concat(parts, axis=-1)
    (top, _), (left, _) = g.padding
    return xp.permute_dims(padded[:, top:top + g.h, left:left + g.w, :], (0, 3, 1, 2))


def conv_padding(padding: Any, kernel: Pair, dilation: Pair, stride: Pair) -> Padding:
    """PyTorch's ``padding``: an int, a pair, ``'valid'`` (none) or ``'same'`` (stride 1:
    the output keeps the input's size; an odd total puts the extra row below/right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (totals[0] // 2, totals[0] - totals[0] // 2), (totals[1] // 2,
                                                              totals[1] - totals[1] // 2)
    return symmetric(pair(padding, "padding", "conv2d", minimum=0))


def conv2d(x: Any, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of an NCHW batch.

    ``weight`` is ``(out_channels, in_channels / groups, kh, kw)``; ``stride``,
    ``dilation`` and ``padding`` are ints or pairs, ``padding`` also ``'valid'`` or
    ``'same'``. Output ``(N, out_channels, Ho, Wo)`` with
    ``Ho = (H + 2 ph - dh (kh - 1) - 1) // sh + 1``.

    >>> x = cr.randn(2, 3, 32, 32)
    >>> F.conv2d(x, cr.randn(16, 3, 3, 3), padding=1).shape
    (2, 16, 32, 32)
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"conv2d: weight must be a Tensor, got {type(weight).__name__}")
    if not isinstance(x, Tensor):
        x = operand(x, weight)
    stride_ = pair(stride, "stride", "conv2d")
    dilation_ = pair(dilation, "dilation", "conv2d")
    kernel = tuple(int(k) for k in weight.shape[2:4]) if weight.ndim == 4 else (1, 1)
    padding_ = conv_padding(padding, kernel, dilation_, stride_)
    return Conv2d.apply(x, weight, bias, stride_, padding_, dilation_, int(groups))
