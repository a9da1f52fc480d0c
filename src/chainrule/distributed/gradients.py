"""Data-parallel SGD: the same weights on every rank, and gradients averaged over the ranks.

Each of the K ranks computes the gradient of the mean loss over its own batch of B
examples; the average of the K gradients is the gradient of the mean loss over all K x B
examples (the batches are the same size), so after :func:`allreduce_gradients` every rank
takes the step one process would take with the global batch::

    dL/dW = (1/K) sum_r dL_r/dW,    L_r = (1/B) sum_{i in batch r} L_i

Gradients travel as one message per step: a compiled step (:mod:`chainrule.compiler`)
already keeps each parameter group's gradients in one flat array and hands those to
:class:`GradientAllreduce` (one ``Allreduce`` in place per group); eager gradients are
packed into one reused buffer (one ``Allreduce`` for all of them).

>>> cr.distributed.init()                       # doctest: +SKIP
>>> cr.distributed.broadcast_parameters(model)  # doctest: +SKIP
>>> loss.backward()                             # doctest: +SKIP
>>> cr.distributed.allreduce_gradients(model)   # doctest: +SKIP
>>> opt.step()                                  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.distributed.comm import allreduce_, broadcast_, world_size

__all__ = ["GradientAllreduce", "allreduce_gradients", "broadcast_buffers", "broadcast_parameters",
    "synchronized",]


def _parameters(module_or_params: Any) -> list[Any]:
    if hasattr(module_or_params, "parameters") and callable(module_or_params.parameters):
        return list(module_or_params.parameters())
    return list(module_or_params)


class _Packer:
    """One reused flat buffer per dtype, to send many arrays as one message."""

    __slots__ = ("buffers",)

    def __init__(self) -> None:
        self.buffers: dict[np.dtype, np.ndarray] = {}

    def by_dtype(self, arrays: Sequence[np.ndarray]) -> dict[np.dtype, list[np.ndarray]]:
        groups: dict[np.dtype, list[np.ndarray]] = {}
        for a in arrays:
            groups.setdefault(a.dtype, []).append(a)
        return groups

    def pack(self, arrays: list[np.ndarray]) -> np.ndarray:
        size = sum(a.size for a in arrays)
        buffer = self.buffers.get(arrays[0].dtype)
        if buffer is None or buffer.size < size:
            buffer = self.buffers[arrays[0].dtype] = np.empty(size, arrays[0].dtype)
        flat, offset = buffer[:size], 0
        for a in arrays:  # arrays on a GPU travel through host memory
            flat[offset:offset + a.size].reshape(a.shape)[...] = backend.to_numpy(a)
            offset += a.size
        return flat

    @staticmethod
    def unpack(flat: np.ndarray, arrays: list[np.ndarray]) -> None:
        offset = 0
        for a in arrays:
            backend.assign(a, flat[offset:offset + a.size].reshape(a.shape))
            offset += a.size


class GradientAllreduce:
    """Average arrays of gradients over the ranks, in place, as one message per call.

    Called with one contiguous array (a compiled step's flat gradients of one parameter
    group), it runs one ``Allreduce`` on it in place; called with several (eager
    gradients), it packs them into a reused buffer per dtype, reduces that and copies the
    averages back. ``calls`` and ``seconds`` count the reductions and the time spent in
    them (the benchmark reads them). In a world of one it does nothing.

    >>> step = cr.compile(loss_fn, opt, gradient_hook=GradientAllreduce())   # doctest: +SKIP
    """

    __slots__ = ("calls", "packer", "seconds")

    def __init__(self) -> None:
        self.packer = _Packer()
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, grads: Sequence[np.ndarray]) -> None:
        size = world_size()
        if size == 1 or not grads:
            return
        start = time.perf_counter()
        if len(grads) == 1 and type(grads[0]) is np.ndarray and grads[0].flags.c_contiguous:
            self._average(grads[0], size)
        else:
            for arrays in self.packer.by_dtype(grads).values():
                flat = self.packer.pack(arrays)
                self._average(flat, size)
                self.packer.unpack(flat, arrays)
        self.seconds += time.perf_counter() - start

    def _average(self, flat: np.ndarray, size: int) -> None:
        allreduce_(flat, "sum")
        np.divide(flat, size, out=flat)
        self.calls += 1


_eager = GradientAllreduce()


def allreduce_gradients(module_or_params: Any) -> None:
    """Replace each parameter's ``.grad`` by its average over the ranks (one message).

    ``module_or_params`` is a Module or an iterable of parameters; parameters without a
    gradient are skipped, so every rank must have gradients for the same parameters.
    """
    _eager([p.grad for p in _parameters(module_or_params) if p.grad is not None])


def broadcast_parameters(module_or_params: Any, root: int = 0) -> None:
    """Give every rank rank ``root``'s parameters (and a Module's buffers, e.g. batch-norm
    statistics), in place, as one message per dtype."""
    arrays = [p.data for p in _parameters(module_or_params)] + _buffers(module_or_params)
    _broadcast_arrays(arrays, root)


def broadcast_buffers(module: Any, root: int = 0) -> None:
    """Give every rank rank ``root``'s module buffers (batch-norm running statistics)."""
    _broadcast_arrays(_buffers(module), root)


def _buffers(module: Any) -> list[np.ndarray]:
    buffers = getattr(module, "buffers", None)
    return [b for b in buffers() if backend.is_array(b)] if callable(buffers) else []


def _broadcast_arrays(arrays: list[np.ndarray], root: int) -> None:
    if world_size() == 1 or not arrays:
        return
    packer = _Packer()
    for group in packer.by_dtype(arrays).values():
        flat = packer.pack(group)
        broadcast_(flat, root)
        packer.unpack(flat, group)


def synchronized(arrays: Iterable[np.ndarray]) -> bool:
    """Whether every rank holds the same values in ``arrays`` (for tests and debugging:
    the element-wise max and min over the ranks must agree). A collective."""
    values = [backend.to_numpy(a).astype(np.float64).ravel() for a in arrays]
    high = np.concatenate(values) if values else np.zeros(0)
    low = high.copy()
    return bool(np.array_equal(allreduce_(high, "max"), allreduce_(low, "min"), equal_nan=True))
