"""Shape gates: reshape, flatten, transpose, broadcast_to, squeeze, unsqueeze, indexing,
concatenate, stack. They move numbers around; the backward moves the gradient back."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import Gate, UnaryGate, as_tensor, normalize_axis, raw, shape_text


class Reshape(UnaryGate):
    symbol = "reshape"
    kernel = "chainrule.compiler.shape_kernels:ReshapeKernel"
    parameters = ("shape",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return f"reshape back to {shape_text(inputs[k].shape)}"

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple) -> Any:
        ctx.in_shape = x.shape
        try:
            return backend.namespace(x).reshape(x, shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into {tuple(shape)}"
            ) from None

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return backend.reshape(upstream, ctx.in_shape), None


class Transpose(UnaryGate):
    symbol = "T"
    parameters = ("axes",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "transpose back"

    @staticmethod
    def forward(ctx: Context, x: Any, axes: Any) -> Any:
        if axes is not None:
            axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
            if sorted(axes) != list(range(x.ndim)):
                raise ShapeError(
                    f"transpose: axes {axes} are not a permutation of a {x.ndim}-d tensor's axes"
                )
            ctx.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        else:
            axes = tuple(range(x.ndim))[::-1]
            ctx.inverse = None
        return backend.namespace(x).permute_dims(x, axes)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return backend.permute_dims(upstream, ctx.inverse), None


class BroadcastTo(UnaryGate):
    """Copies along new axes; the engine sums the gradient back (the copy gate)."""

    symbol = "expand"
    parameters = ("shape",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "sum over the broadcast axes"

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple) -> Any:
        shape = tuple(x.shape[i - (len(shape) - x.ndim)] if s == -1 else s
                      for i, s in enumerate(shape))
        try:
            return backend.namespace(x).broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream, None  # the engine's unbroadcast does the summing


class Squeeze(UnaryGate):
    symbol = "squeeze"
    parameters = ("axis",)

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Any) -> Any:
        ctx.in_shape = x.shape
        axes = normalize_axis(axis, x.ndim, "squeeze")
        axes = tuple(a for a in axes if x.shape[a] == 1)  # PyTorch: non-1 axes are left alone
        return backend.namespace(x).squeeze(x, axis=axes)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return backend.reshape(upstream, ctx.in_shape), None


class Unsqueeze(UnaryGate):
    symbol = "unsqueeze"
    parameters = ("axis",)

    @staticmethod
    def forward(ctx: Context, x: Any, axis: int) -> Any:
        ctx.in_shape = x.shape
        if not -x.ndim - 1 <= axis <= x.ndim:
            raise ShapeError(f"unsqueeze: axis {axis} is out of range for shape {x.shape}")
        return backend.namespace(x).expand_dims(x, axis=axis)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return backend.reshape(upstream, ctx.in_shape), None


def _is_basic(index: Any) -> bool:
    """True for indexes made only of ints, slices, None and Ellipsis (no repeats possible)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, slice)
        or (hasattr(p, "__index__") and not getattr(p, "ndim", 0)) for p in parts
    )


class GetItem(UnaryGate):
    """``x[index]``: basic slicing and integer-array / boolean indexing.

    Backward scatters the gradient back into a zero tensor of x's shape; repeated
    integer indices *add* (``backend.scatter_add``), as the copy gate requires.
    """

    symbol = "[]"
    parameters = ("index",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "scatter upstream into zeros"

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any) -> Any:
        ctx.in_shape = x.shape
        ctx.index = index
        try:
            return backend.getitem(x, index)
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {x.shape})") from None

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        if isinstance(upstream, Tensor):
            return ScatterAdd.apply(upstream, ctx.in_shape, ctx.index), None
        return _scatter(upstream, ctx.in_shape, ctx.index), None


def _scatter(values: Any, shape: tuple, index: Any) -> Any:
    out = backend.namespace(values).zeros(shape, dtype=values.dtype, device=values.device)
    if _is_basic(index):
        backend.put(out, index, values)
    else:
        backend.scatter_add(out, index, values)
    return out


class ScatterAdd(Gate):
    """Adds ``values`` into a zero tensor at ``index`` (the backward of indexing)."""

    symbol = "scatter"
    operands = ("values",)
    parameters = ("shape", "index")

    @staticmethod
    def forward(ctx: Context, values: Any, shape: tuple, index: Any) -> Any:
        ctx.index = index
        return _scatter(values, shape, index)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        if isinstance(upstream, Tensor):
            return upstream[ctx.index], None, None
        return backend.getitem(upstream, ctx.index), None, None


class _Join(Gate):
    """What concatenate and stack share: an axis, then the tensors to join."""

    parameters = ("axis",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "slice of upstream"


class Concatenate(_Join):
    """Tensors joined along an existing axis; backward slices the upstream back apart."""

    symbol = "cat"

    @staticmethod
    def forward(ctx: Context, axis: int, *xs: Any) -> Any:
        try:
            out = backend.namespace(*xs).concat(list(xs), axis=axis)
        except ValueError:
            raise ShapeError(
                f"concatenate: shapes {[x.shape for x in xs]} do not fit along axis {axis}"
            ) from None
        ctx.axis = axis % out.ndim
        ctx.bounds = list(itertools.accumulate(x.shape[ctx.axis] for x in xs))[:-1]
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        starts = [0, *ctx.bounds]
        ends = [*ctx.bounds, upstream.shape[ctx.axis]]
        pieces = []
        for s, e in zip(starts, ends):
            idx = [slice(None)] * upstream.ndim
            idx[ctx.axis] = slice(s, e)
            pieces.append(upstream[tuple(idx)])
        return (None, *pieces)


class Stack(_Join):
    """Tensors joined along a new axis; backward takes each one's slice of the upstream."""

    symbol = "stack"

    @staticmethod
    def forward(ctx: Context, axis: int, *xs: Any) -> Any:
        try:
            out = backend.namespace(*xs).stack(list(xs), axis=axis)
        except ValueError:
            raise ShapeError(f"stack: shapes {[x.shape for x in xs]} differ") from None
        ctx.axis = axis % out.ndim
        ctx.count = len(xs)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        pieces = []
        for i in range(ctx.count):
            idx = [slice(None)] * upstream.ndim
            idx[ctx.axis] = i
            pieces.append(upstream[tuple(idx)])
        return (None, *pieces)


def reshape(x: Tensor, shape: Any) -> Tensor:
    """The same numbers in a new shape (one dimension may be -1)."""
    shape = (int(shape),) if hasattr(shape, "__index__") else tuple(shape)
    return Reshape.apply(x, shape)


def flatten(x: Tensor, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge axes ``start_axis..end_axis`` into one (``Flatten`` uses start_axis=1)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = start_axis % x.ndim, end_axis % x.ndim
    shape = (*x.shape[:s], math.prod(x.shape[s:e + 1]), *x.shape[e + 1:])
    return Reshape.apply(x, shape)


def transpose(x: Tensor, axes: Any = None) -> Tensor:
    """Reverse (or permute, with ``axes``) the axes."""
    return Transpose.apply(x, axes)


def permute(x: Tensor, *axes: Any) -> Tensor:
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return Transpose.apply(x, axes)


def broadcast_to(x: Tensor, shape: tuple) -> Tensor:
    """A broadcast view of ``x`` (``-1`` keeps a dimension); gradients are summed back."""
    return BroadcastTo.apply(x, tuple(shape))


expand = broadcast_to


def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    """Drop axes of length 1 (all of them, or those in ``axis``)."""
    return Squeeze.apply(x, axis)


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """Insert an axis of length 1 at ``axis``."""
    return Unsqueeze.apply(x, axis)


def _index_part(p: Any) -> Any:
    if isinstance(p, Tensor):
        return p.data
    if isinstance(p, list):
        return backend.asarray([backend.to_numpy(raw(q)) if isinstance(q, Tensor) else q
                                for q in p])
    return p


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` for basic and integer-array indexes (Tensor indexes allowed)."""
    if isinstance(index, tuple):
        index = tuple(_index_part(p) for p in index)
    else:
        index = _index_part(index)
    return GetItem.apply(x, index)


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("concatenate: need at least one tensor")
    return Concatenate.apply(axis, *ts)


cat = concatenate


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("stack: need at least one tensor")
    return Stack.apply(axis, *ts)
