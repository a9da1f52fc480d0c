"""The lecture's activation functions as modules, and ``activation(name)`` to pick one.

==============  ==========================================  =========================
module          f(x)                                        local gradient
==============  ==========================================  =========================
``Sigmoid``     ``1 / (1 + e^-x)``                          ``s (1 - s)``
``Tanh``        ``tanh(x)``                                 ``1 - tanh(x)^2``
``ReLU``        ``max(0, x)`` (the good default)            ``1 if x > 0 else 0``
``LeakyReLU``   ``x if x > 0 else slope x``                 ``1 or slope``
``PReLU``       ``x if x > 0 else a x``, ``a`` learned      ``1 or a``; ``da = x``
``ELU``         ``x if x > 0 else alpha (e^x - 1)``         ``1 or f(x) + alpha``
``MaxoutPool``  max over groups of ``pieces`` features      routed to the winner
==============  ==========================================  =========================

The full maxout unit ``max(w1.x + b1, w2.x + b2)`` with its own weights is
:class:`chainrule.nn.Maxout`; ``MaxoutPool`` is its second half, the max, used as the
activation after a linear layer with ``pieces`` times the outputs (how ``MLP`` builds
``activation='maxout'``).
"""

from __future__ import annotations

from typing import Any

import chainrule.functional as F
from chainrule._tensor import Tensor
from chainrule.creation import full
from chainrule.dtypes import as_dtype, get_default_dtype
from chainrule.nn.module import Module, Parameter

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_ALIASES",
    "ELU",
    "LeakyReLU",
    "MaxoutPool",
    "PReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "activation",
]


class Sigmoid(Module):
    """``1 / (1 + e^-x)``, elementwise.

    >>> nn.Sigmoid()(cr.tensor([0.0]))
    tensor([0.5])
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """``tanh(x)``, elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class ReLU(Module):
    """``max(0, x)``, elementwise.

    >>> nn.ReLU()(cr.tensor([1.0, -2.0, 3.0, -1.0]))
    tensor([1., 0., 3., 0.])
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x`` (the lecture's ``max(0.1x, x)`` is slope 0.1)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Leaky ReLU whose slope is learned: ``x if x > 0 else a x``.

    ``num_parameters`` is 1 (one slope shared by all features) or the number of
    channels (axis 1 of the input); each slope starts at ``init``. Parameter ``weight``
    of shape ``(num_parameters,)``, as in PyTorch.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = None,
                 device: Any = None) -> None:
        super().__init__()
        if num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be >= 1, got {num_parameters}")
        self.num_parameters = int(num_parameters)
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(full(num_parameters, float(init), dtype=dt, device=device))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """``x if x > 0 else alpha (e^x - 1)``."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class MaxoutPool(Module):
    """Max over consecutive groups of ``pieces`` features: ``(..., F * pieces) -> (..., F)``.

    Put after ``Linear(in, out * pieces)`` it makes the maxout unit
    ``max(w1.x + b1, ..., wk.x + bk)``.
    """

    def __init__(self, pieces: int = 2) -> None:
        super().__init__()
        if int(pieces) < 1:
            raise ValueError(f"MaxoutPool: pieces must be >= 1, got {pieces}")
        self.pieces = int(pieces)

    def forward(self, x: Tensor) -> Tensor:
        return F.maxout(x, self.pieces)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class Softmax(Module):
    """``e^x_i / sum_j e^x_j`` along ``dim``: scores -> probabilities (PyTorch's layer).

    Not a hidden-layer activation (it is not in :data:`ACTIVATIONS`): put it last to make
    a classifier output probabilities, e.g. before an ONNX export.

    >>> nn.Softmax(dim=1)(cr.tensor([[0.0, 0.0]]))
    tensor([[0.5, 0.5]])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _identity() -> Module:
    from chainrule.nn.layers import Identity

    return Identity()


#: Activation names accepted by :func:`activation` and ``MLP(activation=...)``, in the order
#: ``chainrule train --activation`` offers them.
ACTIVATIONS: dict[str, Any] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "prelu": PReLU,
    "elu": ELU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "maxout": MaxoutPool,
    "linear": _identity,
    "identity": _identity,
}
#: Second names in :data:`ACTIVATIONS` (``alias -> name``): accepted everywhere, but lists
#: of choices show each activation once, under its name.
ACTIVATION_ALIASES: dict[str, str] = {"identity": "linear"}


def activation(name: str, **kwargs: Any) -> Module:
    """The activation module called ``name``, built with ``kwargs``.

    Names: ``relu``, ``leaky_relu``, ``prelu``, ``elu``, ``sigmoid``, ``tanh``,
    ``linear``/``identity`` (no nonlinearity) and ``maxout`` (a :class:`MaxoutPool`).

    >>> nn.activation("leaky_relu", negative_slope=0.1)
    LeakyReLU(negative_slope=0.1)
    """
    key = str(name).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid names are: {', '.join(ACTIVATIONS)}"
        )
    try:
        return ACTIVATIONS[key](**kwargs)
    except TypeError as exc:
        raise TypeError(f"activation {name!r}: {exc}") from exc
