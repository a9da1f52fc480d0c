"""Adam and AdamW (PyTorch's rules): momentum plus RMSProp, with bias correction.

With ``g`` the gradient (Adam: plus ``weight_decay * w``) and ``t`` the step count::

    m = beta1 m + (1 - beta1) g                  (exp_avg)
    v = beta2 v + (1 - beta2) g^2                (exp_avg_sq; amsgrad: max_exp_avg_sq
                                                  = max(max_exp_avg_sq, v) is used instead)
    w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

AdamW decouples the weight decay: it first shrinks ``w = w (1 - lr weight_decay)`` and
does not add anything to ``g``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from chainrule._tensor import Tensor
from chainrule.backend import inplace, namespace
from chainrule.checks import in_range
from chainrule.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam; state ``step``, ``exp_avg``, ``exp_avg_sq`` (+ ``max_exp_avg_sq`` for amsgrad).

    ``weight_decay=wd`` adds ``wd * w`` to the gradient (L2 regularization of strength
    ``wd / 2``, as in SGD; see :mod:`chainrule.nn.regularization`), which Adam then
    rescales like any gradient; ``AdamW`` decouples it.

    >>> opt = optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    """

    elementwise = True
    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        name = type(self).__name__
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} "
                                 "(betas must be in [0, 1))")
        if not in_range(group["eps"], low=0.0):
            raise ValueError(f"{name}: invalid epsilon {group['eps']} (must be >= 0)")

    def update(self, group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        w, g = p.data, p.grad
        xo = inplace(w)  # the library's functions with out= (no temporaries)
        if not state:
            xp = namespace(w)
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        step = state["step"]
        t0, t1 = self._temp(p, 2)[:2]
        d = g
        if wd != 0:
            if self._decoupled:
                w *= 1 - lr * wd
            else:
                xo.multiply(w, wd, out=t0)
                t0 += g
                d = t0
        m, v = state["exp_avg"], state["exp_avg_sq"]
        xo.subtract(d, m, out=t1)
        xo.add_scaled(m, 1 - beta1, t1, t1)
        v *= beta2
        xo.multiply(d, d, out=t1)
        xo.add_scaled(v, 1 - beta2, t1, t1)
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        second = v
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]
            xo.maximum(second, v, out=second)
        # m / (sqrt(v) / c + eps) = c m / (sqrt(v) + c eps), c = sqrt(1 - beta2^t):
        # one pass fewer over the parameters.
        xo.sqrt(second, out=t1)
        t1 += eps * bias_correction2_sqrt
        xo.divide(m, t1, out=t1)
        xo.add_scaled(w, -step_size * bias_correction2_sqrt, t1, t1)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01): ``w *= 1 - lr wd`` before the step."""

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
