"""The explicit Jacobian of a function of one variable, and the product backprop computes.

For ``z = f(x)`` with ``x`` of N numbers and ``z`` of M, the Jacobian ``J = dz/dx`` is an
M x N matrix. Backprop never forms it: the backward pass computes the product with the
upstream gradient directly::

    dL/dx = (dL/dz) J                       (M numbers in, N out)

For an elementwise ``f`` (relu, sigmoid, ...) ``J`` is diagonal and the product is
``dL/dz * diag(J)``. :func:`explain_jacobian` computes ``J`` explicitly, both products and
the output value, so the two can be compared.

>>> r = explain_jacobian("relu", {"x": [1, -2, 3, -1]}, upstream=[4, -1, 5, 9])
>>> r.expression, r.jacobian.shape, r.is_diagonal
('relu(x)', (4, 4), True)
>>> r.explicit.tolist(), bool((r.implicit == r.explicit).all())
([4.0, 0.0, 5.0, 0.0], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.autograd import grad
from chainrule.creation import tensor
from chainrule.explain.expr import ELEMENTWISE_FUNCTIONS, evaluate_tensors, variables
from chainrule.explain.graph import ExplainError
from chainrule.explain.text import format_array
from chainrule.gradient_check import jacobian

__all__ = ["JacobianReport", "explain_jacobian"]


@dataclass(frozen=True)
class JacobianReport:
    """``z = f(x)``, its explicit Jacobian, and ``dL/dx`` computed with it and by backprop.

    ``x``: the input; ``z``: the output; ``jacobian``: ``dz/dx`` of shape
    ``(z.size, x.size)``; ``upstream``: ``dL/dz`` as given (z's size); ``explicit``:
    ``(dL/dz) J`` (flat, x's size); ``implicit``: what the backward pass returns for
    ``upstream`` (x's shape).
    """

    expression: str
    variable: str
    x: np.ndarray
    z: np.ndarray
    jacobian: np.ndarray
    upstream: np.ndarray
    explicit: np.ndarray
    implicit: np.ndarray

    @property
    def is_diagonal(self) -> bool:
        """Whether ``J`` is square with zeros off its diagonal (an elementwise function)."""
        jac = self.jacobian
        if jac.shape[0] != jac.shape[1]:
            return False
        return bool(np.count_nonzero(jac - np.diag(np.diag(jac))) == 0)

    def text(self, precision: int = 2) -> str:
        """The report as ``chainrule explain --jacobian`` prints it."""
        var, jac = self.variable, self.jacobian
        if self.is_diagonal:
            closing = (f"The Jacobian is diagonal: backprop never forms it and multiplies "
                       f"elementwise, dL/d{var} = dL/dz * diag(J).")
        else:
            closing = ("Backprop never forms the Jacobian; each gate's backward computes the "
                       "product.")
        return "\n".join([
            f"z = {self.expression} at {var} = {format_array(self.x, precision, 64)}",
            f"z = {format_array(self.z, precision, 64)}",
            "",
            f"explicit Jacobian dz/d{var} ({jac.shape[0]} x {jac.shape[1]}, "
            f"{np.count_nonzero(jac)} of {jac.size} entries non-zero):",
            np.array2string(jac, precision=precision, suppress_small=True, floatmode="fixed"),
            "",
            f"upstream dL/dz = {format_array(self.upstream, precision, 64)}",
            f"explicit product  dL/d{var} = (dL/dz) J = "
            f"{format_array(self.explicit, precision, 64)}",
            f"implicit product  dL/d{var} = backward(upstream) = "
            f"{format_array(self.implicit, precision, 64)}",
            closing,
        ])


def explain_jacobian(function: str, values: Mapping[str, Any],
                     upstream: Any = None) -> JacobianReport:
    """The explicit Jacobian of ``function`` at ``values``, and both products with ``upstream``.

    ``function`` is the name of an elementwise function (``relu``, ``sigmoid``, ``tanh``,
    ``exp``, ``log``, ``sqrt``; applied to the one variable of ``values``) or an
    expression of one variable (``"x * x + sum(x)"``). ``upstream`` is ``dL/dz`` (default:
    ones of z's shape). Everything is computed in float64.

    >>> r = explain_jacobian("x * x + sum(x)", {"x": [1, 2]})
    >>> r.jacobian.tolist(), r.is_diagonal
    ([[3.0, 1.0], [1.0, 5.0]], False)
    """
    expr = function.strip()
    if expr in ELEMENTWISE_FUNCTIONS:
        if len(values) != 1:
            raise ExplainError(f"explain --jacobian {expr}: give exactly one value, e.g. "
                               '--values "x=[1,-2,3,-1]"')
        (var,) = values
        expr = f"{expr}({var})"
    names = variables(expr)
    if len(names) != 1:
        raise ExplainError(f"explain --jacobian: {expr!r} must use exactly one variable, "
                           f"not {names}")
    (var,) = names
    if var not in values:
        raise ExplainError(f"explain --jacobian: no value given for {var} (--values {var}=...)")
    x = np.asarray(values[var], dtype=np.float64)

    def fn(t: Tensor) -> Tensor:
        return evaluate_tensors(expr, {var: t})

    jac = jacobian(fn, tensor(x, dtype="float64"))
    leaf = tensor(x, dtype="float64", requires_grad=True)
    leaf.name = var
    out = evaluate_tensors(expr, {var: leaf})
    dz = (np.ones(out.shape, dtype=np.float64) if upstream is None
          else np.asarray(upstream, dtype=np.float64))
    if dz.size != out.data.size:
        raise ExplainError(f"explain --jacobian: --upstream has {dz.size} numbers, the "
                           f"output has {out.data.size}")
    (implicit,) = grad(out, [leaf], upstream=dz.reshape(out.shape))
    return JacobianReport(expr, var, x, out.data, jac, dz, dz.reshape(-1) @ jac, implicit.data)
