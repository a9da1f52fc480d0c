"""The add gate's kernel: ``x + y`` of two values of one shape (the data loss plus a
weight penalty, a residual sum), with the upstream gradient handed to both."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.compiler.kernel import Kernel

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = ["AddKernel"]


class AddKernel(Kernel):
    """``x + y``; backward: ``upstream`` for both (the gradient distributor).

    Scalars (a loss) are added as Python adds NumPy scalars; arrays into a buffer.
    """

    __slots__ = ("out",)
    buffered = True

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """Two floating arrays of one shape and dtype (no broadcasting to undo)."""
        x, y = plan.values(i)
        return (isinstance(x, (np.ndarray, np.generic)) and isinstance(y, (np.ndarray, np.generic))
                and x.shape == y.shape and x.dtype == y.dtype and x.dtype.kind == "f")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        x = plan.values(i)[0]
        self.out = np.empty(x.shape, dtype=x.dtype) if x.ndim else None
        self.value = self.out

    def describe(self) -> str:
        return "add"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        if self.out is None:
            src.emit(f"v{i} = {args[0]} + {args[1]}")
            return f"v{i}"
        src.emit(f"_add({args[0]}, {args[1]}, out={src.const(self.out, 'out')})")
        return src.const(self.out, "v")

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        return [(up, False, up_array), (up, False, up_array)]
