"""The reshape gate's kernel: a view forward, the upstream gradient reshaped back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.compiler.kernel import Kernel

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = ["ReshapeKernel"]


class ReshapeKernel(Kernel):
    """``x.reshape(shape)`` (a view where NumPy can make one); backward
    ``upstream.reshape(x.shape)``. The playground reshapes its regression targets."""

    __slots__ = ("in_shape", "shape")
    buffered = True

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """An array input and the traced output's shape."""
        return isinstance(plan.values(i)[0], np.ndarray)

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)
        self.in_shape = plan.values(i)[0].shape
        self.shape = plan.nodes[i].out.shape

    def describe(self) -> str:
        return f"reshape to {self.shape}"

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        src.emit(f"v{i} = {args[0]}.reshape({self.shape!r})")
        return f"v{i}"

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        return [(f"{up}.reshape({self.in_shape!r})", False, None), None]
