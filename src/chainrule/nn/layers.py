"""Layers: the fully-connected layer and the pieces networks are stacked from.

``Linear`` is the lecture's ``W x + b`` as one fused graph node (CS231n's
``affine_forward``/``affine_backward``); ``Sequential`` chains modules; ``Dropout``
behaves differently in training and evaluation (``model.train()`` / ``model.eval()``), as
do the batch norm layers (:mod:`chainrule.nn.normalization`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import chainrule.functional as F
from chainrule._tensor import Tensor
from chainrule.creation import zeros
from chainrule.dtypes import as_dtype, get_default_dtype
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter

__all__ = ["Dropout", "Dropout2d", "Flatten", "Identity", "Linear", "Maxout", "Sequential"]


def _float_dtype(dtype: Any) -> Any:
    dt = get_default_dtype() if dtype is None else as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"layer dtype must be a floating type, got {dt}")
    return dt


def _check_features(layer: str, x: Tensor, expected: int) -> None:
    if x.ndim == 0 or x.shape[-1] != expected:
        got = "no feature axis" if x.ndim == 0 else f"{x.shape[-1]} features"
        raise ShapeError(
            f"{layer}: input of shape {tuple(x.shape)} has {got}, expected {expected}"
        )


class Linear(Module):
    """Fully-connected layer ``y = x W^T + b`` (the lecture's ``f = W x + b`` per example).

    ``weight`` has PyTorch's shape ``(out_features, in_features)`` and ``bias``
    ``(out_features,)``. Default init (PyTorch's): both ``U(-1/sqrt(in), 1/sqrt(in))``,
    i.e. ``kaiming_uniform_(weight, a=sqrt(5))``, drawn on ``device``. Inputs
    ``(..., in_features)``.

    >>> layer = nn.Linear(3072, 100)      # CIFAR-10 image -> 100 hidden units
    >>> layer(cr.randn(64, 3072)).shape
    (64, 100)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None, device: Any = None) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: in_features and out_features must be >= 1, "
                             f"got {in_features} and {out_features}")
        dt = _float_dtype(dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(zeros(out_features, in_features, dtype=dt, device=device))
        if bias:
            self.bias = Parameter(zeros(out_features, dtype=dt, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias from ``U(-1/sqrt(in), 1/sqrt(in))``."""
        init.layer_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_features(
            f"Linear(in_features={self.in_features}, out_features={self.out_features})",
            x, self.in_features,
        )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Maxout(Module):
    """Maxout unit ``max(w1.x + b1, ..., wk.x + bk)`` with its own weights (k = ``pieces``).

    ``weight`` is ``(out_features * pieces, in_features)``: rows ``j*pieces ..
    j*pieces + pieces - 1`` are the pieces of output ``j``. Init as ``Linear``.

    >>> nn.Maxout(4, 3, pieces=2)(cr.randn(5, 4)).shape
    (5, 3)
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 2,
                 bias: bool = True, dtype: Any = None, device: Any = None) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        dt = _float_dtype(dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.pieces = int(pieces)
        rows = out_features * pieces
        self.weight = Parameter(zeros(rows, in_features, dtype=dt, device=device))
        if bias:
            self.bias = Parameter(zeros(rows, dtype=dt, device=device))
        else:
            self.register_parameter("bias", None)
        init.layer_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_features(f"Maxout({self.extra_repr()})", x, self.in_features)
        return F.maxout(F.linear(x, self.weight, self.bias), self.pieces)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}")


class Sequential(Module):
    """Modules applied one after the other, named ``0``, ``1``, ... (or by an OrderedDict).

    >>> net = nn.Sequential(nn.Linear(2, 100), nn.ReLU(), nn.Linear(100, 3))
    >>> [n for n, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index} out of range for {len(items)} modules")
        return items[index][1]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. ``activation='linear'``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flatten axes ``start_dim .. end_dim`` into one: images ``(N, C, H, W) -> (N, C*H*W)``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the survivors by ``1 / (1 - p)``, so evaluation (which passes the input through)
    sees the same expected activation. The mask comes from chainrule's seeded generator of
    the input's device (``cr.manual_seed``).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Module):
    """Channel dropout for NCHW images: in training, zero whole feature maps with
    probability ``p`` and scale the others by ``1 / (1 - p)``; evaluation passes through.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: probability p must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
