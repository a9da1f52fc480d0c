"""Matrix multiply and the fused linear layer.

For ``y = x @ w`` with x: (N, D), w: (D, M) the lecture's shape rule gives the only
gradients whose shapes match: ``dL/dx = dL/dy @ w.T`` and ``dL/dw = x.T @ dL/dy``.
No Jacobian (N*M x N*D) is ever formed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.backend import reshape
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import Gate, operand, raw, swap_last


class MatMul(Gate):
    """``x @ y`` for 1-D, 2-D and batched (broadcast) operands, like ``np.matmul``."""

    symbol = "@"
    infix = True
    operands = ("x", "y")

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        a, b = inputs
        if a.value.ndim == 1 and b.value.ndim == 1:
            return f"{inputs[1 - k].name} (dot product)"
        if k == 0:
            return f"outer(upstream, {b.name})" if b.value.ndim == 1 else f"upstream @ {b.name}^T"
        return f"outer({a.name}, upstream)" if a.value.ndim == 1 else f"{a.name}^T @ upstream"

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        xs, ys = x.shape, y.shape
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(f"matmul: {xs} @ {ys}: both operands need at least one dimension")
        kx = xs[-1]
        ky = ys[0] if y.ndim == 1 else ys[-2]
        if kx != ky:
            raise ShapeError(f"matmul: {xs} @ {ys}: inner dimensions {kx} and {ky} differ")
        ctx.save_for_backward(x, y)
        try:
            return backend.namespace(x).matmul(x, y)
        except ValueError:
            raise ShapeError(
                f"matmul: {xs} @ {ys}: batch dimensions {xs[:-2]} and {ys[:-2]} do not broadcast"
            ) from None

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = gy = None
        if x.ndim == 1 and y.ndim == 1:  # dot product: out is a scalar
            return (upstream * y if need_x else None), (upstream * x if need_y else None)
        if x.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
            up = reshape(upstream, (*upstream.shape[:-1], 1, upstream.shape[-1]))
            if need_x:
                gx = reshape(up @ swap_last(y), (*upstream.shape[:-1], x.shape[0]))
            if need_y:
                gy = reshape(x, (x.shape[0], 1)) @ up
            return gx, gy
        if y.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
            up = reshape(upstream, (*upstream.shape, 1))
            if need_x:
                gx = up @ reshape(y, (1, y.shape[0]))
            if need_y:
                gy = reshape(swap_last(x) @ up, (*upstream.shape[:-1], y.shape[0]))
            return gx, gy
        if need_x:
            gx = upstream @ swap_last(y)
        if need_y:
            gy = swap_last(x) @ upstream
        return gx, gy


class Linear(Gate):
    """``x @ weight.T + bias`` in one node (PyTorch's layout: weight is (out, in)).

    Backward (the CS231n ``affine_backward``)::

        dx = upstream @ weight        dW = upstream.T @ x        db = upstream.sum(0)
    """

    symbol = "linear"
    kernel = "chainrule.compiler.kernels:LinearKernel"
    operands = ("x", "weight", "bias")

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return ("upstream @ W", "upstream^T @ x", "sum of upstream over rows")[min(k, 2)]

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any) -> Any:
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ShapeError(
                f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
                f"(expected (..., {weight.shape[1] if weight.ndim == 2 else '?'}) input)"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ShapeError(
                f"linear: bias of shape {bias.shape} does not fit weight of shape {weight.shape}"
            )
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        if upstream.ndim != 2:
            x = reshape(x, (-1, x.shape[-1]))
            lead = upstream.shape[:-1]
            upstream = reshape(upstream, (-1, upstream.shape[-1]))
        else:
            lead = None
        gx = upstream @ weight if need_x else None
        if gx is not None and lead is not None:
            gx = reshape(gx, (*lead, weight.shape[1]))
        gw = upstream.T @ x if need_w else None
        gb = backend.sum(upstream, axis=0) if need_b else None
        return gx, gw, gb


def matmul(x: Any, y: Any) -> Tensor:
    """Matrix product with NumPy's rules (1-D, 2-D, batched)."""
    if isinstance(x, Tensor):
        return MatMul.apply(x, operand(y, x))
    return MatMul.apply(operand(x, y), y)


def mm(x: Any, y: Any) -> Tensor:
    """Product of two matrices (PyTorch's ``mm``): both 2-D, unlike :func:`matmul`."""
    sx, sy = _shape(x), _shape(y)
    if len(sx) != 2 or len(sy) != 2:
        raise ShapeError(f"mm: expected two 2-D tensors, got shapes {sx} and {sy}")
    return matmul(x, y)


def _shape(x: Any) -> tuple:
    """The shape of a Tensor, an array or nested lists."""
    x = raw(x)
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return tuple(backend.asarray(x).shape)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` fused in one node; weight has PyTorch's (out, in) layout."""
    if not isinstance(x, Tensor):
        x = operand(x, weight)
    return Linear.apply(x, weight, bias)
