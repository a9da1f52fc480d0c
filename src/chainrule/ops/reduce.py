"""Reductions over any axes: sum, mean, max, min, logsumexp, var, std.

A reduction's backward copies the upstream gradient back over the reduced axes (sum: the
copy is the gradient; mean: divided by the count; max/min: routed to the winners).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.function import Context
from chainrule.ops._common import Gate, UnaryGate, exp, expand, keepdims_shape, normalize_axis


def _restore(upstream: Any, ctx: Context) -> Any:
    """Upstream gradient reshaped to keepdims form, ready to broadcast over the input
    (a single number, from a reduction over all axes, broadcasts as it is)."""
    if not ctx.keepdims and ctx.axes and upstream.ndim:
        upstream = backend.reshape(upstream, ctx.kept_shape)
    return upstream


def _setup(ctx: Context, x: Any, axis: Any, keepdims: bool, op: str) -> tuple:
    axes = normalize_axis(axis, x.ndim, op)
    ctx.axes = axes
    ctx.keepdims = keepdims
    ctx.in_shape = x.shape
    ctx.kept_shape = keepdims_shape(x.shape, axes)
    return axes


class _Reduction(UnaryGate):
    """A reduction of ``x`` over ``axis`` (all axes for None), kept as size 1 if ``keepdims``."""

    parameters = ("axis", "keepdims")


class Sum(_Reduction):
    """Sum over axes. Backward: the upstream gradient copied to every summed element."""

    symbol = "sum"

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "1 (upstream copied to every element)"

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Any, keepdims: bool) -> Any:
        axes = _setup(ctx, x, axis, keepdims, "sum")
        return backend.namespace(x).sum(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return expand(_restore(upstream, ctx), ctx.in_shape), None, None


class Mean(_Reduction):
    """Mean over axes. Backward: upstream / count, copied to every element."""

    symbol = "mean"

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        count = inputs[0].value.size // (output.value.size or 1)
        return f"1/{count} (upstream / N copied to every element)"

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Any, keepdims: bool) -> Any:
        axes = _setup(ctx, x, axis, keepdims, "mean")
        shape = x.shape
        ctx.count = math.prod([shape[a] for a in axes])
        scale = 1.0 / ctx.count if ctx.count else math.nan  # the mean of nothing is NaN
        return backend.namespace(x).sum(x, axis=axes, keepdims=keepdims) * scale

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        g = _restore(upstream, ctx) * (1.0 / ctx.count if ctx.count else math.nan)
        return expand(g, ctx.in_shape), None, None


class _Extreme(_Reduction):
    """Shared backward of max and min: route the gradient to the extreme elements.

    Ties share the gradient evenly (like ``torch.amax``), so it still sums to upstream.
    """

    #: The namespace function that reduces: ``"max"`` or ``"min"``.
    reduce = "max"

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return f"1 at the {cls.symbol}, 0 elsewhere"

    @classmethod
    def forward(cls, ctx: Context, x: Any, axis: Any, keepdims: bool) -> Any:
        if x.size == 0:
            raise ValueError(f"{cls.symbol}: cannot reduce an empty tensor of shape {x.shape}")
        axes = _setup(ctx, x, axis, keepdims, cls.symbol)
        xp = backend.namespace(x)
        out = getattr(xp, cls.reduce)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        return out if keepdims else xp.reshape(
            out, tuple(n for i, n in enumerate(x.shape) if i not in axes)
        )

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, out = ctx.saved_tensors
        xd = x.data if isinstance(x, Tensor) else x
        od = out.data if isinstance(out, Tensor) else out
        winners = backend.astype(xd == od, "float64")
        share = winners / backend.namespace(xd).sum(winners, axis=ctx.axes, keepdims=True)
        return _restore(upstream, ctx) * backend.astype(share, xd.dtype, copy=False), None, None


class Max(_Extreme):
    symbol = "max"
    pattern = "max gate: gradient router"
    reduce = "max"


class Min(_Extreme):
    symbol = "min"
    pattern = "min gate: gradient router"
    reduce = "min"


class LogSumExp(_Reduction):
    """``log(sum(exp(x)))``, computed stably as ``m + log(sum(exp(x - m)))``, m = max x.

    Its gradient is the softmax of x.
    """

    symbol = "logsumexp"

    @staticmethod
    def forward(ctx: Context, x: Any, axis: Any, keepdims: bool) -> Any:
        axes = _setup(ctx, x, axis, keepdims, "logsumexp")
        xp = backend.namespace(x)
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0.0)
        with backend.errstate(divide="ignore"):  # all -inf along an axis: the answer is -inf
            out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x, out)
        return out if keepdims else xp.reshape(
            out, tuple(n for i, n in enumerate(x.shape) if i not in axes)
        )

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, out = ctx.saved_tensors
        if isinstance(x, Tensor):  # differentiable: recompute out from x on the graph
            out = logsumexp(x, ctx.axes, True)
        return _restore(upstream, ctx) * exp(x - out), None, None


class StdSqrt(Gate):
    """The square root that turns a variance into a standard deviation.

    Its local gradient ``1 / (2 std)`` is infinite where the spread is 0; there (as in
    ``torch.std``) the gradient is defined as 0, the value of the subgradient that
    leaves constant inputs constant.
    """

    symbol = "sqrt"
    operands = ("variance",)

    @staticmethod
    def forward(ctx: Context, variance: Any) -> Any:
        out = backend.namespace(variance).sqrt(variance)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        zero = (out.data if isinstance(out, Tensor) else out) == 0
        return (upstream * backend.ones_where(~zero, upstream)
                / (2 * out + backend.ones_where(zero, out)))


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (an int, a tuple, or None for all)."""
    return Sum.apply(x, axis, keepdims)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis``."""
    return Mean.apply(x, axis, keepdims)


def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; the gradient goes to the maxima (ties split it evenly)."""
    return Max.apply(x, axis, keepdims)


def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; the gradient goes to the minima (ties split it evenly)."""
    return Min.apply(x, axis, keepdims)


def logsumexp(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Numerically stable ``log(sum(exp(x)))`` over ``axis``."""
    return LogSumExp.apply(x, axis, keepdims)


def var(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` (``ddof=1`` for the unbiased estimate), composed of gates."""
    axes = normalize_axis(axis, x.ndim, "var")
    count = math.prod([x.shape[a] for a in axes]) if axes else 1
    if count - ddof <= 0:
        raise ValueError(f"var: {count} elements are too few for ddof={ddof}")
    centered = x - mean(x, axes, keepdims=True)
    return sum(centered * centered, axes, keepdims) * (1.0 / (count - ddof))


def std(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation over ``axis``: ``sqrt(var)`` (gradient 0 where it is 0)."""
    return StdSqrt.apply(var(x, axis, keepdims, ddof))
