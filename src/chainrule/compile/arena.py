"""Packing an optimizer's parameters into one flat array per parameter group."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor


class Arena:
    """The optimizer's parameters, packed group by group into one flat array each.

    Each parameter's ``.data`` becomes a view of its group's array, and its gradient a
    view of a matching gradient array, so an update of a whole group is one NumPy call
    per operation. Shapes never change; layouts may:

    - a weight in ``input_major`` is laid out as its transpose (an ``(in, out)`` block)
      and seen through ``.T``: a Fortran-ordered ``(out, in)`` view;
    - a weight with its bias in ``pairs`` (same group) is laid out as one ``[W | b]``
      block of shape ``(out, in + 1)``: ``W`` is ``block[:, :-1]``, ``b`` is
      ``block[:, -1]``, so a product with ``[x^T ; 1]`` adds the bias for free.
    """

    __slots__ = ("blocks", "grads", "groups", "keys", "views")

    def __init__(self, groups: list[list[Tensor]], input_major: set[int],
                 pairs: dict[int, Tensor]) -> None:
        self.keys = [[id(p) for p in params] for params in groups]
        self.groups: list[Tensor] = []  # per group: data = flat values, grad = flat gradients
        self.views: dict[int, np.ndarray] = {}
        self.grads: dict[int, np.ndarray] = {}
        self.blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(W): [W|b], its grad
        for params in groups:
            dtype = params[0].data.dtype
            data = np.empty(sum(p.data.size for p in params), dtype=dtype)
            grad = np.zeros_like(data)
            members = {id(p) for p in params}
            placed: set[int] = set()
            offset = 0
            for p in params:
                if id(p) in placed:
                    continue
                bias = pairs.get(id(p))
                if bias is not None and id(bias) in members and id(bias) not in placed:
                    rows, cols = p.data.shape
                    size = rows * (cols + 1)
                    block, gblock = (a[offset:offset + size].reshape(rows, cols + 1)
                                     for a in (data, grad))
                    self._place(p, block[:, :-1], gblock[:, :-1])
                    self._place(bias, block[:, -1], gblock[:, -1])
                    self.blocks[id(p)] = (block, gblock)
                    placed.update((id(p), id(bias)))
                    offset += size
                    continue
                shape, size = p.data.shape, p.data.size
                view, gview = (a[offset:offset + size] for a in (data, grad))
                if id(p) in input_major:
                    view, gview = view.reshape(shape[::-1]).T, gview.reshape(shape[::-1]).T
                else:
                    view, gview = view.reshape(shape), gview.reshape(shape)
                self._place(p, view, gview)
                placed.add(id(p))
                offset += size
            flat = Tensor._from_op(data, None)
            flat.grad = grad
            self.groups.append(flat)

    def _place(self, p: Tensor, view: np.ndarray, gview: np.ndarray) -> None:
        view[...] = p.data
        p.data = view
        self.views[id(p)], self.grads[id(p)] = view, gview

    def fits(self, groups: list[list[Tensor]]) -> bool:
        """Whether it still holds exactly these parameters, each still its view."""
        return self.keys == [[id(p) for p in params] for params in groups] and all(
            p.data is self.views[id(p)] for params in groups for p in params
        )


def arena_groups(optimizer: Any, has_grad: set[int]) -> list[list[Tensor]] | None:
    """The optimizer's groups when they can be packed: every parameter gets a gradient
    from the step and each group has a single floating dtype; else None."""
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        return None
    packed = []
    for group in groups:
        params = list(group["params"])
        if not params or any(
            id(p) not in has_grad or type(p.data) is not np.ndarray
            or p.data.dtype != params[0].data.dtype or p.data.dtype.kind != "f"
            for p in params
        ):
            return None
        packed.append(params)
    return packed
