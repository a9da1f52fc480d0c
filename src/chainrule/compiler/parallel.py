"""An elementwise optimizer rule on a packed group, split in parts that run in threads.

NumPy runs each ufunc on one core. An optimizer whose rule is elementwise
(``Optimizer.elementwise``) treats every element on its own, so its public
``update(group, param, state)`` may run on contiguous parts of a packed group at the
same time, each part with views of the group's flat state: the same arithmetic on every
element, and so the same numbers, in a fraction of the time on a machine with several
cores (NumPy releases the GIL inside its loops). Large groups only: below
:data:`MIN_PART` elements per part the threads cost more than they save.

>>> cr.compiler.set_num_threads(1)     # one part: the update runs in the calling thread
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.denormals import flush_denormal_enabled, set_flush_denormal

__all__ = ["MIN_PART", "PartedUpdate", "get_num_threads", "set_num_threads"]

#: Fewest elements per part (a part's size is also a multiple of 64 elements).
MIN_PART = 1 << 16

_threads = 0  # 0: not chosen yet (the CPUs this process may use, at most 4)
_pool: ThreadPoolExecutor | None = None


def get_num_threads() -> int:
    """Threads a compiled step uses for the update of a large packed parameter group."""
    global _threads
    if _threads == 0:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        _threads = max(1, min(4, cpus))
    return _threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (1: none besides the caller's) for packed optimizer updates.

    >>> cr.compiler.set_num_threads(2)
    """
    global _threads, _pool
    if int(n) != n or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _threads = int(n)
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None


def _workers() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max(1, get_num_threads() - 1),
                                   thread_name_prefix="chainrule-update")
    return _pool


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _in_mode(flush: bool, update: Any, group: dict, part: Tensor, state: dict) -> None:
    """``update`` in a worker thread whose subnormal mode is set to the caller's first
    (:mod:`chainrule.denormals`: the mode belongs to each thread)."""
    if flush_denormal_enabled() != flush:
        set_flush_denormal(flush)
    update(group, part, state)


def parts_for(size: int) -> int:
    """How many parts a group of ``size`` elements runs in (1: not split)."""
    return max(1, min(get_num_threads(), size // MIN_PART))


class PartedUpdate:
    """``optimizer.update`` on contiguous parts of a packed group at once, in threads.

    Each part is a Tensor whose ``data`` and ``grad`` are views of the group's flat
    arrays, with a state dict of views of the flat state arrays and its own copy of the
    counters (``step``), which every part advances alike. After the parts ran, anything
    a rule assigned anew (a new array for ``data`` or a state entry, a new state entry)
    is copied into the flat arrays, which stay the state.
    """

    __slots__ = ("bounds", "count", "data_views", "flat", "group", "key", "optimizer",
                 "parts", "states", "views")

    def __init__(self, optimizer: Any, group: dict, flat: Tensor, count: int) -> None:
        self.optimizer, self.group, self.flat, self.count = optimizer, group, flat, count
        size = flat.data.size
        step = -(-size // count // 64) * 64
        self.bounds = [(lo, min(lo + step, size)) for lo in range(0, size, step)]
        self.parts: list[Tensor] = []
        for lo, hi in self.bounds:
            part = Tensor._from_op(flat.data[lo:hi], None)
            part.grad = flat.grad[lo:hi]
            self.parts.append(part)
        self.data_views = [part.data for part in self.parts]
        self.states: list[dict[str, Any]] = []
        self.views: list[dict[str, np.ndarray]] = []
        self.key: tuple = ()

    def run(self, flat_state: dict[str, Any]) -> None:
        """One step of every part; ``flat_state`` (the group's packed state) follows."""
        self._split(flat_state)
        update, group = self.optimizer.update, self.group
        pool = _workers()
        flush = flush_denormal_enabled()  # the workers follow the caller's mode
        futures = [pool.submit(_in_mode, flush, update, group, part, state)
                   for part, state in zip(self.parts[1:], self.states[1:])]
        try:
            update(group, self.parts[0], self.states[0])
        finally:
            for f in futures:
                f.result()
        self._merge(flat_state)

    def _split(self, flat_state: dict[str, Any]) -> None:
        """Each part's state: views of the flat arrays, its own copy of the counters
        (made again only when the flat state's arrays or entries changed)."""
        key = (id(flat_state), *sorted(
            (k, id(v) if isinstance(v, np.ndarray) else None) for k, v in flat_state.items()))
        if key == self.key:
            return
        self.states, self.views = [], []
        for lo, hi in self.bounds:
            views = {k: v[lo:hi] for k, v in flat_state.items() if isinstance(v, np.ndarray)}
            self.states.append({k: views.get(k, v) for k, v in flat_state.items()})
            self.views.append(views)
        self.key = key

    def _merge(self, flat_state: dict[str, Any]) -> None:
        """Copy what the rule assigned anew into the flat arrays; take the counters."""
        data = self.flat.data
        for part, view in zip(self.parts, self.data_views):
            if part.data is not view:  # a rule that assigns p.data = ...
                view[...] = part.data
                part.data = view
        fresh = set(self.states[0]) != set(flat_state)
        for name, first in self.states[0].items():
            if not isinstance(first, np.ndarray):
                fresh |= isinstance(flat_state.get(name), np.ndarray)
                flat_state[name] = first  # every part counted alike
                continue
            flat = flat_state.get(name)
            if not (isinstance(flat, np.ndarray) and flat.shape == data.shape):
                flat = flat_state[name] = np.empty_like(data)
                fresh = True
            for (lo, hi), state, views in zip(self.bounds, self.states, self.views):
                if state[name] is not views.get(name):
                    flat[lo:hi] = state[name]
                    fresh = True
        for name in set(flat_state) - set(self.states[0]):
            del flat_state[name]
        if fresh:
            self.key = ()  # new flat arrays or entries: split them again next time
