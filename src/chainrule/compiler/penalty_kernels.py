"""The weight penalty's kernel: L2 (or L1) regularization folded into the gradients.

The penalty gate (:mod:`chainrule.ops.penalty`) takes only parameters, so nothing waits
for its backward: the plan runs it after every other node's, when the layers have
written their ``dW`` into each weight's gradient array, and this kernel adds its term to
those arrays in place, one pass per weight::

    L2:  dW += (2 lambda upstream) W        (BLAS axpy on large weights)
    L1:  dW += (lambda upstream) sign(W)

The forward gives the value the loss reports, ``lambda sum W^2`` as one dot product per
weight (``lambda sum |W|`` for L1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule._blas import add_scaled
from chainrule.compiler.kernel import Kernel
from chainrule.compiler.plan import CONST, LEAF

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = ["PenaltyKernel"]


def _flat(a: np.ndarray) -> np.ndarray | None:
    """A 1-D view of all of ``a``'s elements (any order), or None when its memory has gaps."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous:
        return a.T.reshape(-1)
    return None


class PenaltyKernel(Kernel):
    """``strength * sum_k R(W_k)`` (``Function.norm``: 2 for ``sum W^2``, 1 for
    ``sum |W|``); backward adds ``dR/dW_k`` into each weight's gradient array."""

    __slots__ = ("flats", "norm", "scratch", "strength", "weights")
    buffered = True
    accumulates = True

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """A constant strength and parameters of one floating dtype as the weights."""
        specs = plan.specs[i]
        values = plan.values(i)
        return (specs[0][0] == CONST and len(specs) > 1
                and all(kind == LEAF for kind, _ in specs[1:])
                and all(w.dtype.kind == "f" and w.dtype == values[1].dtype
                        for w in values[1:]))

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        values = plan.values(i)
        self.strength = float(values[0])
        self.norm = plan.nodes[i].fn.norm
        self.weights: list[np.ndarray] = values[1:]
        self.flats = [_flat(w) for w in self.weights]
        self.scratch = [np.empty_like(w) for w in self.weights]

    def describe(self) -> str:
        kind = "L2: + 2 lambda W" if self.norm == 2 else "L1: + lambda sign(W)"
        return f"weight penalty ({kind} into each weight's gradient)"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        c = src.const
        parts = []
        for k, (w, flat, scratch) in enumerate(zip(self.weights, self.flats, self.scratch)):
            if self.norm == 1:
                src.emit(f"_absolute({c(w, 'w')}, out={c(scratch, 'scratch')})")
                parts.append(f"_add_reduce({c(scratch, 'scratch')}, None)")
            elif flat is not None:
                parts.append(f"_dot({c(flat, 'wflat')}, {c(flat, 'wflat')})")
            else:  # a strided view (a [W | b] block): square, then sum
                src.emit(f"_multiply({c(w, 'w')}, {c(w, 'w')}, out={c(scratch, 'scratch')})")
                parts.append(f"_add_reduce({c(scratch, 'scratch')}, None)")
            src.emit(f"p{i}_{k} = {parts[-1]}")
        total = " + ".join(f"p{i}_{k}" for k in range(len(parts)))
        src.emit(f"v{i} = ({total}) * {self.strength!r}")
        return f"v{i}"

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        c = src.const
        factor = self.strength * (2.0 if self.norm == 2 else 1.0)
        coef = repr(factor) if seed else f"c{i}"
        if not seed:
            src.emit(f"c{i} = float({up}) * {factor!r}")
        grads: list = [None]
        for k, (w, scratch) in enumerate(zip(self.weights, self.scratch)):
            dest = dests[k + 1]
            if dest is None:  # the weight needs no gradient
                grads.append(None)
                continue
            g, scr = c(dest, "G"), c(scratch, "scratch")
            if self.norm == 2:
                src.emit(f"{c(add_scaled, 'add_scaled')}({g}, {coef}, {c(w, 'w')}, {scr})")
            else:
                src.emit(f"_sign({c(w, 'w')}, out={scr})")
                src.emit(f"_multiply({scr}, {coef}, out={scr})")
                src.emit(f"_add({g}, {scr}, out={g})")
            grads.append((g, True, dest))
        return grads
