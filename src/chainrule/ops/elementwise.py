"""Elementwise gates: exp, log, sqrt, abs, sin, cos, maximum, minimum, clip, where, cast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor, _as_dtype
from chainrule.function import Context
from chainrule.ops import _common
from chainrule.ops._common import ElementwiseGate, Gate, number_text, one_constant, operand, raw


class Exp(ElementwiseGate):
    """``e^x``. Its local gradient is its own output: the *output multiplier*."""

    symbol = "exp"
    pattern = "exp gate: output multiplier"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        out = backend.namespace(x).exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        return upstream * out


class Log(ElementwiseGate):
    """Natural logarithm. Local gradient ``1/x``."""

    symbol = "log"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return backend.namespace(x).log(x)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (x,) = ctx.saved_tensors
        return upstream / x


class Sqrt(ElementwiseGate):
    """Square root. Local gradient ``1 / (2 sqrt(x))``."""

    symbol = "sqrt"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        out = backend.namespace(x).sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        return upstream / (2 * out)


class Abs(ElementwiseGate):
    """``|x|``. Local gradient ``sign(x)`` (0 at 0, as in PyTorch)."""

    symbol = "abs"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return backend.namespace(x).abs(x)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (x,) = ctx.saved_tensors
        x = raw(x)
        return upstream * backend.namespace(x).sign(x)


class Sin(ElementwiseGate):
    """``sin(x)``. Local gradient ``cos(x)``."""

    symbol = "sin"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return backend.namespace(x).sin(x)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (x,) = ctx.saved_tensors
        return upstream * _common.cos(x)


class Cos(ElementwiseGate):
    """``cos(x)``. Local gradient ``-sin(x)``."""

    symbol = "cos"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return backend.namespace(x).cos(x)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (x,) = ctx.saved_tensors
        return -(upstream * _common.sin(x))


class _Router(Gate):
    """What elementwise max and min share: two operands, a constant folded as ``max(0, x)``."""

    operands = ("x", "y")
    elementwise = True

    @classmethod
    def gate_label(cls, constants: Mapping[int, float]) -> str:
        one = one_constant(constants)
        return cls.symbol if one is None else f"{cls.symbol}({number_text(one[1])}, x)"


class Maximum(_Router):
    """Elementwise ``max(x, y)``: the *gradient router*.

    The upstream gradient goes to the larger input, the other gets 0. On a tie each
    input gets half (as ``torch.maximum`` does), so the two still add up to upstream.
    """

    symbol = "max"
    pattern = "max gate: gradient router"

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return backend.namespace(x, y).maximum(x, y)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, y = ctx.saved_tensors
        wx = _route(raw(x), raw(y))
        need_x, need_y = ctx.needs_input_grad
        return (upstream * wx if need_x else None), (upstream * (1 - wx) if need_y else None)


class Minimum(_Router):
    """Elementwise ``min(x, y)``: routes the gradient to the smaller input (ties split)."""

    symbol = "min"
    pattern = "min gate: gradient router"

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return backend.namespace(x, y).minimum(x, y)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, y = ctx.saved_tensors
        wx = _route(raw(y), raw(x))
        need_x, need_y = ctx.needs_input_grad
        return (upstream * wx if need_x else None), (upstream * (1 - wx) if need_y else None)


def _route(winner: Any, loser: Any) -> Any:
    """Share of the gradient that goes to ``winner``: 1 where it is larger, 1/2 on ties."""
    like = winner if backend.is_array(winner) else loser
    dtype = like.dtype if backend.is_floating(like.dtype) else "float32"
    share = backend.astype(winner > loser, dtype)
    share += 0.5 * backend.ones_where(winner == loser, share)
    return share


class Clip(ElementwiseGate):
    """``min(max(x, low), high)``. The gradient passes where ``low <= x <= high``."""

    symbol = "clip"
    parameters = ("low", "high")

    @staticmethod
    def forward(ctx: Context, x: Any, low: Any, high: Any) -> Any:
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return backend.namespace(x).clip(x, low, high)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (x,) = ctx.saved_tensors
        x = raw(x)
        if ctx.low is None:
            inside = x <= ctx.high
        else:
            inside = x >= ctx.low
            if ctx.high is not None:
                inside &= x <= ctx.high
        return upstream * backend.ones_where(inside, upstream), None, None


class Where(Gate):
    """``cond ? x : y`` elementwise. The gradient follows the branch that was taken."""

    symbol = "where"
    operands = ("cond", "x", "y")
    elementwise = True

    @staticmethod
    def forward(ctx: Context, cond: Any, x: Any, y: Any) -> Any:
        ctx.cond = cond
        return backend.namespace(x, y, cond).where(cond, x, y)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        cond = ctx.cond
        _, need_x, need_y = ctx.needs_input_grad
        gx = upstream * backend.ones_where(cond, upstream) if need_x else None
        gy = upstream * backend.ones_where(~cond, upstream) if need_y else None
        return None, gx, gy


class Cast(ElementwiseGate):
    """Change the dtype; the gradient is cast back."""

    symbol = "cast"
    parameters = ("dtype",)

    @staticmethod
    def forward(ctx: Context, x: Any, dtype: Any) -> Any:
        ctx.dtype = x.dtype
        return backend.astype(x, dtype)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return backend.astype(upstream, ctx.dtype), None


def exp(x: Tensor) -> Tensor:
    """``e^x`` elementwise."""
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm elementwise."""
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    """Square root elementwise."""
    return Sqrt.apply(x)


def abs(x: Tensor) -> Tensor:
    """``|x|`` elementwise."""
    return Abs.apply(x)


def sin(x: Tensor) -> Tensor:
    """``sin(x)`` elementwise."""
    return Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    """``cos(x)`` elementwise."""
    return Cos.apply(x)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum; ties split the gradient evenly."""
    if isinstance(x, Tensor):
        return Maximum.apply(x, operand(y, x))
    return Maximum.apply(operand(x, y), y)


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum; ties split the gradient evenly."""
    if isinstance(x, Tensor):
        return Minimum.apply(x, operand(y, x))
    return Minimum.apply(operand(x, y), y)


def clip(x: Tensor, low: float | None = None, high: float | None = None) -> Tensor:
    """Clamp into ``[low, high]`` (either may be None)."""
    if low is None and high is None:
        raise ValueError("clip: give at least one of low and high")
    return Clip.apply(x, low, high)


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """PyTorch's name for :func:`clip`: ``cr.clamp(x, min=0)`` is ReLU."""
    return clip(x, min, max)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``cond`` is true, else ``y`` (broadcasting)."""
    like = x if isinstance(x, Tensor) else y
    on = like.data if isinstance(like, Tensor) else None
    cond = backend.asarray(raw(cond), like=on, dtype="bool")
    if isinstance(like, Tensor):
        x, y = operand(x, like), operand(y, like)
    return Where.apply(cond, x, y)


def cast(x: Tensor, dtype: Any) -> Tensor:
    """The same values in another dtype (float32 <-> float64 keeps the graph)."""
    dtype = _as_dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind != "f" and x.requires_grad:
        return Tensor._from_op(backend.astype(x.data, dtype), None)
    return Cast.apply(x, dtype)
