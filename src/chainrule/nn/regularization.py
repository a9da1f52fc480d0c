"""L2 (and L1) regularization ``R(W)`` as a term added to the loss.

The lecture's full loss is ``L = (1/N) sum_i L_i + lambda R(W)``. Two ways to get it:

* ``loss = data_loss + nn.l2_penalty(model, lam)``: adds ``lam * sum W^2`` over the
  weight matrices only (biases, BatchNorm's scale/shift and PReLU slopes are skipped);
  its gradient is ``2 lam W``.
* ``optim.SGD(model.parameters(), lr, weight_decay=wd)``: adds ``wd * W`` to every
  parameter's gradient in the group, which is the gradient of ``(wd / 2) sum W^2``.

So ``weight_decay=wd`` equals ``l2_penalty(model, strength=wd / 2)``, or
``l2_penalty(model, wd, half=True)`` (the ``0.5 lam sum W^2`` convention), except that
weight decay also decays biases unless you put them in a parameter group with
``weight_decay=0``. ``AdamW``'s decoupled decay is a different thing again: it shrinks
the weights directly (``W -= lr wd W``), outside Adam's adaptive scaling.
"""

from __future__ import annotations

from collections.abc import Iterable

from chainrule._tensor import Tensor
from chainrule.nn.module import Module, Parameter
from chainrule.ops import penalty

__all__ = ["l1_penalty", "l2_penalty", "regularized_parameters"]


def regularized_parameters(module: Module | Iterable[Parameter]) -> list[Tensor]:
    """The parameters L2 regularization applies to: those with 2 or more dimensions
    (weight matrices), not biases or other per-feature vectors."""
    params = module.parameters() if isinstance(module, Module) else module
    return [p for p in params if p.ndim >= 2]


def l2_penalty(module: Module | Iterable[Parameter], strength: float,
               half: bool = False) -> Tensor:
    """``strength * sum W^2`` over the weight matrices (``0.5 * strength * ...`` if ``half``).

    A scalar tensor on the graph, one gate (:class:`chainrule.ops.penalty.L2Penalty`)
    whose gradient is ``2 strength W``: add it to the data loss before ``backward()``.
    ``weight_decay=wd`` in ``optim.SGD`` matches ``l2_penalty(m, wd / 2)``, or
    ``l2_penalty(m, wd, half=True)``, on the same (weight) parameters.

    >>> model = nn.MLP(2, [100], 3)
    >>> loss = nn.CrossEntropyLoss()(model(X), y) + nn.l2_penalty(model, 1e-3)
    """
    if strength < 0:
        raise ValueError(f"l2_penalty: strength must be >= 0, got {strength}")
    scale = 0.5 * strength if half else strength
    return penalty.l2_penalty(regularized_parameters(module), scale)


def l1_penalty(module: Module | Iterable[Parameter], strength: float) -> Tensor:
    """``strength * sum |W|`` over the weight matrices (biases are skipped).

    One gate (:class:`chainrule.ops.penalty.L1Penalty`) whose gradient is
    ``strength * sign(W)``, which pushes small weights to exactly 0.

    >>> loss = nn.CrossEntropyLoss()(model(X), y) + nn.l1_penalty(model, 1e-3)
    """
    if strength < 0:
        raise ValueError(f"l1_penalty: strength must be >= 0, got {strength}")
    return penalty.l1_penalty(regularized_parameters(module), strength)
