"""The lecture's worked examples, ready to trace: ``example("sigmoid-neuron")``.

=================  ==========================================================================
name               what it shows
=================  ==========================================================================
simple             ``f = (x + y) z`` at x=-2, y=5, z=-4: q=3, f=-12, grads -4, -4, 3
sigmoid-neuron     ``1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))``: 0.73 and the five exact gradients
gates              the four patterns: add distributes, mul swaps, copy adds, max routes
relu-vector        ReLU on x=[1,-2,3,-1] with upstream [4,-1,5,9]: dL/dx = [4,0,5,0]
matmul             ``y = x w`` with x: 2x3, w: 3x4 and the lecture's dL/dy
vectorized-norm    ``f = ||W x||^2``: q=[0.22,0.26], grad_W = 2 q x^T, grad_x = 2 W^T q
=================  ==========================================================================

All values are float64, so the lecture's exact numbers hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import chainrule as cr
from chainrule.explain.capture import trace
from chainrule.explain.graph import ExplainError, Trace

__all__ = ["EXAMPLES", "Example", "example"]


def _leaf(name: str, value: object) -> cr.Tensor:
    t = cr.tensor(np.asarray(value, dtype=np.float64), dtype="float64", requires_grad=True)
    t.name = name
    return t


def _named(t: cr.Tensor, name: str) -> cr.Tensor:
    t.name = name
    return t


def _simple() -> Trace:
    x, y, z = _leaf("x", -2.0), _leaf("y", 5.0), _leaf("z", -4.0)
    q = _named(x + y, "q")
    f = _named(q * z, "f")
    return trace(f, title="f(x, y, z) = (x + y) z")


def _sigmoid_neuron() -> Trace:
    w0, x0, w1, x1, w2 = (_leaf(n, v) for n, v in
                          (("w0", 2.0), ("x0", -1.0), ("w1", -3.0), ("x1", -2.0), ("w2", -3.0)))
    f = _named(1 / (1 + cr.exp(-(w0 * x0 + w1 * x1 + w2))), "f")
    return trace(f, title="sigmoid neuron f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))")


def _gates() -> Trace:
    ax, ay = _leaf("a_x", 3.0), _leaf("a_y", 4.0)
    mx, my = _leaf("m_x", 2.0), _leaf("m_y", 3.0)
    cx = _leaf("c_x", 1.0)
    xx, xy = _leaf("x_max", 4.0), _leaf("y_max", 5.0)
    add = _named(ax + ay, "add")
    mul = _named(mx * my, "mul")
    copy = _named(4 * cx + 2 * cx, "copy")
    mx_ = _named(cr.maximum(xx, xy), "max")
    return trace([add, mul, copy, mx_], upstream=[2.0, 5.0, 1.0, 9.0],
                 title="gradient patterns: add distributes, mul swaps, copy adds, max routes")


def _relu_vector() -> Trace:
    x = _leaf("x", [1.0, -2.0, 3.0, -1.0])
    z = _named(cr.relu(x), "z")
    return trace(z, upstream=[4.0, -1.0, 5.0, 9.0],
                 title="ReLU on a vector: dL/dx = [4, 0, 5, 0] (Jacobian diag(1, 0, 1, 0))")


def _matmul() -> Trace:
    x = _leaf("x", [[2.0, -1.0, 3.0], [-3.0, 4.0, 2.0]])
    w = _leaf("w", [[3.0, 2.0, 1.0, -1.0], [2.0, 1.0, 3.0, 2.0], [3.0, 2.0, 1.0, -2.0]])
    y = _named(x @ w, "y")
    upstream = [[2.0, 3.0, -3.0, 9.0], [-8.0, 1.0, 4.0, 6.0]]
    return trace(y, upstream=upstream,
                 title="matrix multiply y = x w: dL/dx = (dL/dy) w^T, dL/dw = x^T (dL/dy)")


def _vectorized_norm() -> Trace:
    w = _leaf("W", [[0.1, 0.5], [-0.3, 0.8]])
    x = _leaf("x", [0.2, 0.4])
    q = _named(w @ x, "q")
    f = _named(cr.sum(q**2), "f")
    return trace(f, title="f(x, W) = ||W x||^2: grad_W = 2 q x^T, grad_x = 2 W^T q")


@dataclass(frozen=True)
class Example:
    """A named lecture example: ``build()`` computes it and returns its trace."""

    name: str
    description: str
    build: Callable[[], Trace]
    precision: int = 2


#: The lecture's examples by name.
EXAMPLES: dict[str, Example] = {
    e.name: e for e in (
        Example("simple", "f = (x + y) z at x=-2, y=5, z=-4", _simple),
        Example("sigmoid-neuron", "a 2-input sigmoid neuron, as gates", _sigmoid_neuron),
        Example("gates", "add, mul, copy and max gates and their gradient patterns", _gates),
        Example("relu-vector", "ReLU on a 4-vector: the sparse diagonal Jacobian", _relu_vector),
        Example("matmul", "y = x w with x: 2x3, w: 3x4", _matmul),
        Example("vectorized-norm", "f = ||W x||^2 with W: 2x2, x: 2", _vectorized_norm, 3),
    )
}


def example(name: str) -> Trace:
    """The trace of the lecture example ``name`` (see :data:`EXAMPLES`).

    >>> t = example("simple")
    >>> float(t["z"].grad)
    3.0
    """
    if name not in EXAMPLES:
        raise ExplainError(
            f"no example named {name!r}; choose one of {', '.join(EXAMPLES)}"
        )
    return EXAMPLES[name].build()
