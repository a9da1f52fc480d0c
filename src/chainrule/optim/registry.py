"""Optimizers by name: the choices ``chainrule train --optimizer``, the training config
and the playground offer, each one of the optimizers of this package with its usual
settings.

==============  ======================================================
name            optimizer
==============  ======================================================
``sgd``         ``SGD(params, lr)``: the lecture's ``W -= lr * dW``
``momentum``    ``SGD(params, lr, momentum=0.9)``
``nesterov``    ``SGD(params, lr, momentum=0.9, nesterov=True)``
``rmsprop``     ``RMSprop(params, lr)``
``adam``        ``Adam(params, lr)``
``adamw``       ``AdamW(params, lr)``
==============  ======================================================

>>> opt = optim.make_optimizer("momentum", model.parameters(), lr=0.1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["OPTIMIZERS", "make_optimizer"]

#: ``name -> (params, lr) -> Optimizer``.
OPTIMIZERS: dict[str, Callable[[Iterable[Any], float], Optimizer]] = {
    "sgd": lambda params, lr: SGD(params, lr=lr),
    "momentum": lambda params, lr: SGD(params, lr=lr, momentum=0.9),
    "nesterov": lambda params, lr: SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda params, lr: RMSprop(params, lr=lr),
    "adam": lambda params, lr: Adam(params, lr=lr),
    "adamw": lambda params, lr: AdamW(params, lr=lr),
}


def make_optimizer(name: str, params: Iterable[Any], lr: float) -> Optimizer:
    """The optimizer called ``name`` over ``params`` with learning rate ``lr``."""
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names are: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key](params, lr)
