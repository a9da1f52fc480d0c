"""Stochastic gradient descent, with momentum and Nesterov momentum (PyTorch's rule).

With ``g`` the gradient (plus ``weight_decay * w``), each step does::

    b = momentum * b + (1 - dampening) * g      (b = g on the first step)
    d = g + momentum * b   if nesterov   else   b      (d = g without momentum)
    w = w - lr * d

The lecture's plain update ``W := W - alpha dL/dW`` is ``SGD(params, lr=alpha)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule._tensor import Tensor
from chainrule.backend import copy, inplace
from chainrule.checks import in_range
from chainrule.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD (+ momentum); state ``momentum_buffer`` per parameter when ``momentum > 0``.

    ``weight_decay=wd`` adds ``wd * w`` to the gradient: the gradient of
    ``(wd / 2) sum w^2``, i.e. ``nn.l2_penalty(model, wd / 2)`` (see
    :mod:`chainrule.nn.regularization`), applied to every parameter of the group.

    >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    elementwise = True

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        if not in_range(group["momentum"], low=0.0):
            raise ValueError(f"SGD: invalid momentum {group['momentum']} (must be >= 0)")
        if not in_range(group["dampening"], low=0.0, high=1.0):
            raise ValueError(f"SGD: invalid dampening {group['dampening']} (must be in [0, 1])")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening = 0")

    def update(self, group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        w, g = p.data, p.grad
        xo = inplace(w)  # the library's functions with out= (no temporaries)
        # A second scratch array only where dampening or Nesterov needs one.
        two = momentum != 0 and (group["nesterov"] or group["dampening"] != 0)
        scratch = self._temp(p, 2 if two else 1)
        t0 = scratch[0]
        t1 = scratch[1] if two else None
        d = g
        if wd != 0:
            xo.multiply(w, wd, out=t0)
            t0 += g
            d = t0
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = copy(d)
            else:
                buf *= momentum
                if group["dampening"] != 0:
                    xo.multiply(d, 1 - group["dampening"], out=t1)
                    buf += t1
                else:
                    buf += d
            if group["nesterov"]:
                xo.multiply(buf, momentum, out=t1)
                t1 += d
                d = t1
            else:
                d = buf
        xo.add_scaled(w, -lr, d, t0)
