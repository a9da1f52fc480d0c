"""Weight penalties ``R(W)`` as single gates: L2 ``lambda sum W^2`` and L1 ``lambda sum |W|``.

The lecture's full loss is ``L = (1/N) sum_i L_i + lambda R(W)``. Written with ``*``,
``sum`` and ``+`` the penalty is a chain of gates per weight matrix; here it is one gate
over all of them, whose backward is the regularization gradient itself::

    L2:  d(lambda sum W^2)/dW = 2 lambda W        L1:  d(lambda sum |W|)/dW = lambda sign(W)

A compiled step (:mod:`chainrule.compiler`) recognises the gate by its kernel and adds
that term to each weight's gradient in one pass, after the layers wrote theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.function import Context
from chainrule.ops._common import Gate, raw

__all__ = ["L1Penalty", "L2Penalty", "l1_penalty", "l2_penalty"]


class _Penalty(Gate):
    """``strength * sum_k R(W_k)`` over the weights given after ``strength``.

    ``forward(ctx, strength, *weights)``; the sum runs weight by weight, left to right,
    as ``sum(R(W_1)) + sum(R(W_2)) + ...`` would.
    """

    kernel = "chainrule.compiler.penalty_kernels:PenaltyKernel"
    parameters = ("strength",)
    #: The penalty's exponent: 2 for ``sum W^2``, 1 for ``sum |W|`` (the kernel reads it).
    norm = 2

    @staticmethod
    def term(w: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx: Context, strength: float, *weights: Any) -> Any:
        total = None
        for w in weights:
            part = backend.namespace(w).sum(cls.term(w), axis=tuple(range(w.ndim)))
            total = part if total is None else total + part
        ctx.save_for_backward(*weights)
        ctx.strength = strength
        return backend.asarray(total * strength, like=weights[0])


class L2Penalty(_Penalty):
    """``lambda sum_k sum W_k^2``; local gradient ``2 lambda W_k`` for each weight."""

    symbol = "L2 penalty"
    norm = 2

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "2 lambda W"

    @staticmethod
    def term(w: Any) -> Any:
        return w * w

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        scale = upstream * (2.0 * ctx.strength)
        return (None, *[w * scale if need else None
                        for w, need in zip(ctx.saved_tensors, ctx.needs_input_grad[1:])])


class L1Penalty(_Penalty):
    """``lambda sum_k sum |W_k|``; local gradient ``lambda sign(W_k)`` (0 at 0)."""

    symbol = "L1 penalty"
    norm = 1

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "lambda sign(W)"

    @staticmethod
    def term(w: Any) -> Any:
        return backend.namespace(w).abs(w)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        scale = upstream * ctx.strength
        return (None, *[scale * backend.namespace(raw(w)).sign(raw(w)) if need else None
                        for w, need in zip(ctx.saved_tensors, ctx.needs_input_grad[1:])])


def _penalty(fn: type[_Penalty], weights: Sequence[Tensor], strength: float) -> Tensor:
    weights = list(weights)
    if not weights:
        return Tensor(0.0)
    return fn.apply(float(strength), *weights)


def l2_penalty(weights: Sequence[Tensor], strength: float) -> Tensor:
    """``strength * sum_k sum W_k^2`` as one gate (``nn.l2_penalty`` picks the weights).

    >>> w = cr.tensor([[1.0, -2.0]], requires_grad=True)
    >>> ops.l2_penalty([w], 0.5)
    tensor(2.5)
    """
    return _penalty(L2Penalty, weights, strength)


def l1_penalty(weights: Sequence[Tensor], strength: float) -> Tensor:
    """``strength * sum_k sum |W_k|`` as one gate (``nn.l1_penalty`` picks the weights).

    >>> w = cr.tensor([[1.0, -2.0]], requires_grad=True)
    >>> ops.l1_penalty([w], 0.5)
    tensor(1.5)
    """
    return _penalty(L1Penalty, weights, strength)
