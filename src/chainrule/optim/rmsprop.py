"""RMSProp: divide the step by a running root-mean-square of the gradient (PyTorch's rule).

With ``g`` the gradient (plus ``weight_decay * w``)::

    v = alpha v + (1 - alpha) g^2                         (square_avg)
    centered: a = alpha a + (1 - alpha) g;  v~ = v - a^2  (grad_avg)
    denom = sqrt(v~ or v) + eps
    momentum > 0:  b = momentum b + g / denom;  w = w - lr b
    otherwise:     w = w - lr g / denom
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule._tensor import Tensor
from chainrule.backend import inplace, namespace
from chainrule.checks import in_range
from chainrule.optim.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSProp; state ``step``, ``square_avg`` (+ ``momentum_buffer``, ``grad_avg``).

    >>> opt = optim.RMSprop(model.parameters(), lr=1e-3)
    """

    elementwise = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        for name in ("eps", "momentum"):
            if not in_range(group[name], low=0.0):
                raise ValueError(f"RMSprop: invalid {name} {group[name]} (must be >= 0)")
        if not in_range(group["alpha"], low=0.0, high=1.0):
            # alpha > 1 gives the squared average negative weights: sqrt of it is NaN
            raise ValueError(f"RMSprop: invalid alpha {group['alpha']} (must be in [0, 1])")

    def update(self, group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum = group["momentum"]
        w, g = p.data, p.grad
        xo = inplace(w)  # the library's functions with out= (no temporaries)
        if not state:
            xp = namespace(w)
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(w)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(w)
        state["step"] += 1
        t0, t1, t2 = self._temp(p, 3)[:3]
        d = g
        if wd != 0:
            xo.multiply(w, wd, out=t0)
            t0 += g
            d = t0
        sq = state["square_avg"]
        sq *= alpha
        xo.multiply(d, d, out=t1)
        t1 *= 1 - alpha
        sq += t1
        if group["centered"]:
            ga = state["grad_avg"]
            xo.subtract(d, ga, out=t1)
            t1 *= 1 - alpha
            ga += t1
            xo.multiply(ga, ga, out=t1)
            xo.subtract(sq, t1, out=t1)
            xo.sqrt(t1, out=t1)
        else:
            xo.sqrt(sq, out=t1)
        t1 += eps
        xo.divide(d, t1, out=t2)
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += t2
            xo.add_scaled(w, -lr, buf, t2)
        else:
            xo.add_scaled(w, -lr, t2, t2)
