"""The arithmetic gates: add, sub, mul, div, neg, pow.

Each gate's backward is the lecture's rule for it, ``downstream = local x upstream``:
the add gate distributes, the mul gate swaps its inputs, and so on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd import Context, Function
from chainrule.ops._common import log, operand
from chainrule.tensor import Tensor


class Add(Function):
    """``x + y``. Local gradients are 1 and 1: the *gradient distributor*."""

    symbol = "+"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream, upstream


class Sub(Function):
    """``x - y``. Local gradients are 1 and -1."""

    symbol = "-"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x - y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream, (-upstream if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """``x * y``. Local gradients are y and x: the *swap multiplier*."""

    symbol = "*"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (upstream * y if need_x else None), (upstream * x if need_y else None)


class Div(Function):
    """``x / y``. Local gradients are 1/y and -x/y^2."""

    symbol = "/"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = upstream / y if need_x else None
        gy = -upstream * x / (y * y) if need_y else None
        return gx, gy


class Neg(Function):
    """``-x``."""

    symbol = "-x"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        return -upstream


class Pow(Function):
    """``x ** p``. Local gradients: ``p x^(p-1)`` for x, ``x^p log x`` for p."""

    symbol = "**"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: Any, p: Any) -> Any:
        out = x**p
        ctx.save_for_backward(x, p, out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, p, out = ctx.saved_tensors
        need_x, need_p = ctx.needs_input_grad
        gx = gp = None
        if need_x:
            if isinstance(p, (int, float)):
                gx = upstream * 2 * x if p == 2 else upstream * p * x ** (p - 1)
            else:
                gx = upstream * p * x ** (p - 1)
        if need_p:
            if isinstance(x, Tensor):
                safe = x * (x.data > 0) + (x.data <= 0)
            else:
                safe = np.where(x > 0, x, 1)
            gp = upstream * out * log(safe)
        return gx, gp


def add(x: Any, y: Any) -> Tensor:
    """Elementwise ``x + y`` with NumPy broadcasting."""
    if isinstance(x, Tensor):
        return Add.apply(x, operand(y, x))
    return Add.apply(operand(x, y), y)


def sub(x: Any, y: Any) -> Tensor:
    """Elementwise ``x - y`` with NumPy broadcasting."""
    if isinstance(x, Tensor):
        return Sub.apply(x, operand(y, x))
    return Sub.apply(operand(x, y), y)


def mul(x: Any, y: Any) -> Tensor:
    """Elementwise ``x * y`` with NumPy broadcasting."""
    if isinstance(x, Tensor):
        return Mul.apply(x, operand(y, x))
    return Mul.apply(operand(x, y), y)


def div(x: Any, y: Any) -> Tensor:
    """Elementwise ``x / y`` with NumPy broadcasting."""
    if isinstance(x, Tensor):
        return Div.apply(x, operand(y, x))
    return Div.apply(operand(x, y), y)


def neg(x: Tensor) -> Tensor:
    """``-x``."""
    return Neg.apply(x)


def pow(x: Any, p: Any) -> Tensor:
    """``x ** p`` for a number or tensor exponent (and a number base with a tensor exponent)."""
    if isinstance(x, Tensor):
        return Pow.apply(x, operand(p, x))
    return Pow.apply(operand(x, p), p)
