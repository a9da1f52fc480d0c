"""Selection: pick elements by index along an axis (``gather``), and the ops built on it
that return values *and* indices, PyTorch's ``sort``, ``topk`` and ``max(dim)``.

The gather gate routes the gradient back to the elements it picked (a scatter-add), like
the max gate routes it to the winner: ``dx[..., index[i], ...] += upstream[..., i, ...]``.

>>> x = cr.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
>>> values, indices = x.topk(2)
>>> values, indices
(tensor([[3., 2.]], grad_fn=<GatherBackward>), tensor([[0, 2]]))
>>> values.sum().backward(); x.grad
array([[1., 0., 1.]], dtype=float32)
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import UnaryGate, raw

__all__ = ["Gather", "ValuesIndices", "argmax", "argmin", "extreme", "gather", "sort", "topk"]


class ValuesIndices(NamedTuple):
    """What ``sort``, ``topk`` and ``max(dim)`` return, as PyTorch does: ``(values, indices)``."""

    values: Tensor
    indices: Tensor


def _axis(dim: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ShapeError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions")
    return dim % max(ndim, 1)


class Gather(UnaryGate):
    """``out[..., i, ...] = x[..., index[..., i, ...], ...]`` along ``axis``
    (``np.take_along_axis``); the gradient is scattered back and added where an index
    repeats."""

    symbol = "gather"
    parameters = ("axis", "index")

    @staticmethod
    def forward(ctx: Context, x: Any, axis: int, index: Any) -> Any:
        ctx.shape, ctx.axis, ctx.index = x.shape, axis, index
        return backend.namespace(x).take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        if isinstance(upstream, Tensor):  # differentiable: the scatter is linear in upstream
            return _Scatter.apply(upstream, ctx.shape, ctx.axis, ctx.index), None, None
        return _scatter_add(upstream, ctx.shape, ctx.axis, ctx.index), None, None


def _scatter_add(values: Any, shape: tuple, axis: int, index: Any) -> Any:
    out = backend.namespace(values).zeros(shape, dtype=values.dtype, device=values.device)
    return backend.scatter_add(out, backend.along_axis_index(index, axis), values)


class _Scatter(UnaryGate):
    """The transpose of :class:`Gather` (its backward, when that is differentiated)."""

    symbol = "scatter"
    parameters = ("shape", "axis", "index")

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple, axis: int, index: Any) -> Any:
        ctx.axis, ctx.index = axis, index
        return _scatter_add(x, shape, axis, index)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return Gather.apply(upstream, ctx.axis, ctx.index), None, None, None


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """The elements of ``x`` at ``index`` along ``dim`` (PyTorch's ``torch.gather``).

    >>> cr.gather(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, np.array([[1], [0]]))
    tensor([[2.],
            [3.]])
    """
    index = backend.asarray(raw(index), like=x.data)
    dtype = backend.numpy_dtype(index.dtype)
    if dtype.kind not in "iu" or index.ndim != x.ndim:
        raise ShapeError(f"gather: index must be integers with {x.ndim} dimensions like x "
                         f"{tuple(x.shape)}, got {dtype} of shape {tuple(index.shape)}")
    return Gather.apply(x, _axis(dim, x.ndim, "gather"),
                        backend.astype(index, "int64", copy=False))


def _with_values(x: Tensor, axis: int, index: Any) -> ValuesIndices:
    return ValuesIndices(Gather.apply(x, axis, index), Tensor._from_op(index, None))


def sort(x: Tensor, dim: int = -1, descending: bool = False) -> ValuesIndices:
    """``(values, indices)`` of ``x`` sorted along ``dim``; equal values keep their order.

    >>> cr.tensor([2.0, 3.0, 1.0]).sort(descending=True).indices
    tensor([1, 0, 2])
    """
    axis = _axis(dim, x.ndim, "sort")
    key = -x.data if descending else x.data
    return _with_values(x, axis, backend.namespace(key).argsort(key, axis=axis, stable=True))


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True) -> ValuesIndices:
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, best first."""
    axis = _axis(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[axis]:
        raise ShapeError(f"topk: k={k} is out of range for dim {dim} of size {x.shape[axis]}")
    key = -x.data if largest else x.data
    xp = backend.namespace(key)
    order = xp.argsort(key, axis=axis, stable=True)
    return _with_values(x, axis, xp.take(order, xp.arange(k, device=key.device), axis=axis))


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Indices of the maxima along ``dim`` (of the flattened tensor when ``None``)."""
    xp = backend.namespace(x.data)
    return Tensor._from_op(xp.argmax(x.data, axis=dim, keepdims=keepdim), None)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Indices of the minima along ``dim`` (of the flattened tensor when ``None``)."""
    xp = backend.namespace(x.data)
    return Tensor._from_op(xp.argmin(x.data, axis=dim, keepdims=keepdim), None)


def extreme(x: Tensor, dim: int, keepdim: bool, largest: bool) -> ValuesIndices:
    """PyTorch's ``x.max(dim)`` / ``x.min(dim)``: the values and the index of the first
    extreme; the gradient goes to that element only."""
    axis = _axis(dim, x.ndim, "max" if largest else "min")
    xp = backend.namespace(x.data)
    if x.ndim == 0:
        zero = xp.asarray(0, dtype=backend.native_dtype(xp, "int64"), device=x.data.device)
        return ValuesIndices(x, Tensor._from_op(zero, None))
    pick = xp.argmax if largest else xp.argmin
    index = pick(x.data, axis=axis, keepdims=True)
    values = Gather.apply(x, axis, index)
    if not keepdim:
        values, index = values.squeeze(axis), xp.squeeze(index, axis=axis)
    return ValuesIndices(values, Tensor._from_op(index, None))
