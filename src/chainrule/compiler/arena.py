"""Packing an optimizer's parameters into one flat array per parameter group."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.compiler.parallel import PartedUpdate, parts_for
from chainrule.optim.optimizer import Optimizer


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

    __slots__ = ("blocks", "grads", "groups", "keys", "steppers", "views")

    def __init__(self, groups: list[list[Tensor]], input_major: set[int],
                 pairs: dict[int, Tensor]) -> None:
        self.keys = [[id(p) for p in params] for params in groups]
        self.groups: list[Tensor] = []  # per group: data = flat values, grad = flat gradients
        self.views: dict[int, np.ndarray] = {}
        self.grads: dict[int, np.ndarray] = {}
        # (id(W), id(b)) -> the [W | b] block and its gradient
        self.blocks: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.steppers: list[FlatOptimizer] | None = None  # made on first use, then shared
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
                    self.blocks[id(p), id(bias)] = (block, gblock)
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

    def block(self, weight: Tensor, bias: Tensor) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``[W | b]`` block holding ``weight`` and ``bias`` side by side, and its
        gradient; None when they were not packed so."""
        return self.blocks.get((id(weight), id(bias)))

    def flat_optimizers(self, optimizer: Any) -> list[FlatOptimizer]:
        """One :class:`FlatOptimizer` per group, shared by every plan of the step."""
        if self.steppers is None:
            self.steppers = [FlatOptimizer(optimizer, self, i) for i in range(len(self.groups))]
        return self.steppers

    def like(self, flat: np.ndarray, p: Tensor, group: int) -> np.ndarray:
        """The view of ``flat`` (an array shaped like group ``group``'s) that lines up
        with ``p.data``: same offset, shape and strides."""
        data = self.groups[group].data
        view = self.views[id(p)]
        offset = view.__array_interface__["data"][0] - data.__array_interface__["data"][0]
        return np.ndarray(view.shape, flat.dtype, buffer=flat, offset=offset,
                          strides=view.strides)

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


def updates_packed(optimizer: Any) -> bool:
    """Whether ``optimizer.step()`` may run as one ``update`` per packed group.

    Its rule must say it treats every element on its own (``Optimizer.elementwise``),
    and its ``step()`` must be :class:`~chainrule.optim.Optimizer`'s loop over the
    parameters (an optimizer with a ``step()`` of its own runs that).
    """
    return (isinstance(optimizer, Optimizer) and optimizer.elementwise
            and type(optimizer).step is Optimizer.step)


class FlatOptimizer:
    """One packed group's optimizer step as one update of the flat arrays.

    An elementwise rule (SGD with or without momentum, RMSprop, Adam, AdamW, or any
    optimizer with ``elementwise = True``) treats every element on its own with
    hyperparameters shared by the group, so its public ``update(group, param, state)``
    applied to the group's flat parameter array is the per-parameter step, in a handful
    of NumPy calls instead of a handful per parameter (a large group in parts, one per
    thread: :mod:`chainrule.compiler.parallel`). Its state (``exp_avg``, ...) then
    lives in flat arrays too, and ``optimizer.state[p]`` holds views of them plus the
    shared counters, so ``state_dict()``, checkpoints and an eager ``step()`` see what
    they always see.

    ``ready()`` says whether the flat state still is the optimizer's state (or takes it
    over); when some parameter's state went its own way (loaded, changed by hand, a
    step count that differs) it returns False and the caller runs ``optimizer.step()``.
    """

    __slots__ = ("arena", "data", "entries", "flat", "flat_state", "group", "index",
                 "optimizer", "params", "parted", "sources", "state_obj")

    def __init__(self, optimizer: Any, arena: Arena, index: int) -> None:
        self.optimizer = optimizer
        self.arena = arena
        self.index = index
        self.group = optimizer.param_groups[index]
        self.params: list[Tensor] = list(self.group["params"])
        self.flat = arena.groups[index]
        self.data = self.flat.data  # the array the parameters are views of
        self.flat_state: dict[str, Any] = {}
        # (p, its state dict as published, the views of flat arrays in it)
        self.entries: list[tuple[Tensor, dict[str, Any], dict[str, np.ndarray]]] = []
        self.sources: dict[str, np.ndarray] = {}  # the flat arrays the views show
        self.state_obj: Any = None
        self.parted: PartedUpdate | None = None  # a large group: its parts in threads

    def ready(self) -> bool:
        """Whether ``step()`` may run: the flat state is (or has just become) the state."""
        state = self.optimizer.state
        if state is self.state_obj:
            flat_state = self.flat_state
            size = len(flat_state)
            for p, published, views in self.entries:
                if state.get(p) is not published or len(published) != size or (
                        size and not _same(published, views, flat_state)):
                    break
            else:
                return True
        return self._adopt()

    def step(self) -> None:
        parts = parts_for(self.data.size)
        if parts > 1:
            if self.parted is None or self.parted.count != parts:
                self.parted = PartedUpdate(self.optimizer, self.group, self.flat, parts)
            self.parted.run(self.flat_state)
        else:
            self.optimizer.update(self.group, self.flat, self.flat_state)
            if self.flat.data is not self.data:  # an update that assigned a new array
                self.data[...] = self.flat.data
                self.flat.data = self.data
        if self.flat_state:
            self._publish()

    def _adopt(self) -> bool:
        """Take the optimizer's per-parameter state into flat arrays, if it is uniform."""
        state = self.optimizer.state
        current = [state.get(p) or {} for p in self.params]
        keys = set(current[0])
        if any(set(s) != keys for s in current):
            return False
        flat_state: dict[str, Any] = {}
        for key in keys:
            values = [s[key] for s in current]
            if all(isinstance(v, np.ndarray) and v.shape == p.data.shape
                   for v, p in zip(values, self.params)):
                flat = np.empty_like(self.flat.data)
                for v, p in zip(values, self.params):
                    self.arena.like(flat, p, self.index)[...] = v
                flat_state[key] = flat
            elif all(not isinstance(v, np.ndarray) and v == values[0] for v in values):
                flat_state[key] = values[0]
            else:
                return False  # e.g. step counts that differ between parameters
        self.flat_state = flat_state
        self.entries = []
        self.sources = {}
        for p in self.params:
            published: dict[str, Any] = {}
            state[p] = published
            self.entries.append((p, published, {}))
        self.state_obj = state
        self._publish()
        return True

    def _publish(self) -> None:
        """Per-parameter views of new flat arrays (a rule may assign new ones), and the
        shared counters."""
        for key, value in self.flat_state.items():
            if isinstance(value, np.ndarray):
                if self.sources.get(key) is value:
                    continue
                self.sources[key] = value
                for p, published, views in self.entries:
                    views[key] = published[key] = self.arena.like(value, p, self.index)
            else:
                for _, published, _ in self.entries:
                    published[key] = value


def _same(published: dict[str, Any], views: dict[str, np.ndarray],
          flat_state: dict[str, Any]) -> bool:
    """Whether a parameter's state still shows the flat state: our views, same counters."""
    for key, value in flat_state.items():
        view = views.get(key)
        if published.get(key) is not view if view is not None else published.get(key) != value:
            return False
    return True
