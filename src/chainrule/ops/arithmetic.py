"""The arithmetic gates: add, sub, mul, div, neg, pow.

Each gate's backward is the lecture's rule for it, ``downstream = local x upstream``:
the add gate distributes, the mul gate swaps its inputs, and so on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.function import Context
from chainrule.ops._common import ElementwiseGate, Gate, log, number_text, one_constant, operand


class _Binary(Gate):
    """What the arithmetic gates share: two operands, elementwise, written infix.

    With one operand a number, the gate's label folds it in (``x + 1`` draws ``+1``).
    """

    infix = True
    elementwise = True
    operands = ("x", "y")

    @classmethod
    def gate_label(cls, constants: Mapping[int, float]) -> str:
        one = one_constant(constants)
        return cls.symbol if one is None else cls._fold(*one)

    @classmethod
    def _fold(cls, slot: int, c: float) -> str:
        """The label with the number ``c`` given as operand ``slot``."""
        return cls.symbol


class Add(_Binary):
    """``x + y``. Local gradients are 1 and 1: the *gradient distributor*."""

    symbol = "+"
    kernel = "chainrule.compiler.arithmetic_kernels:AddKernel"
    pattern = "add gate: gradient distributor"

    @classmethod
    def _fold(cls, slot: int, c: float) -> str:
        return f"+{number_text(c)}" if c >= 0 else f"-{number_text(-c)}"

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream, upstream


class Sub(_Binary):
    """``x - y``. Local gradients are 1 and -1."""

    symbol = "-"

    @classmethod
    def _fold(cls, slot: int, c: float) -> str:
        return f"-{number_text(c)}" if slot == 1 else f"{number_text(c)}-x"

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x - y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        return upstream, (-upstream if ctx.needs_input_grad[1] else None)


class Mul(_Binary):
    """``x * y``. Local gradients are y and x: the *swap multiplier*."""

    symbol = "*"
    pattern = "mul gate: swap multiplier"

    @classmethod
    def _fold(cls, slot: int, c: float) -> str:
        return f"*{number_text(c)}"

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (upstream * y if need_x else None), (upstream * x if need_y else None)


class Div(_Binary):
    """``x / y``. Local gradients are 1/y and -x/y^2."""

    symbol = "/"

    @classmethod
    def _fold(cls, slot: int, c: float) -> str:
        if slot == 1:
            return f"/{number_text(c)}"
        return "1/x" if c == 1 else f"{number_text(c)}/x"

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


class Neg(ElementwiseGate):
    """``-x``. Local gradient -1: drawn as the lecture's ``*-1`` gate."""

    symbol = "-x"

    @classmethod
    def gate_label(cls, constants: Mapping[int, float]) -> str:
        return "*-1"

    @classmethod
    def formula(cls, args: Sequence[str]) -> str:
        return f"-{args[0]}"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        return -upstream


class Pow(_Binary):
    """``x ** p``. Local gradients: ``p x^(p-1)`` for x, ``x^p log x`` for p."""

    symbol = "**"
    operands = ("x", "p")

    @classmethod
    def _fold(cls, slot: int, c: float) -> str:
        if slot == 0:  # a number raised to a tensor
            return cls.symbol
        return "1/x" if c == -1 else f"^{number_text(c)}"

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
                log_x = log(x * (x.data > 0) + (x.data <= 0))
            elif isinstance(x, (int, float)):  # a number base: log x as a float64 constant
                data = out.data if isinstance(out, Tensor) else out
                log_x = backend.namespace(data).asarray(
                    math.log(x) if x > 0 else 0.0, dtype=backend.native_dtype(
                        backend.namespace(data), "float64"), device=data.device)
            else:
                log_x = log(backend.namespace(x).where(x > 0, x, 1.0))
            gp = upstream * out * log_x
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
