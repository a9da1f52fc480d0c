"""What a kernel is: the protocol every kernel follows, the generic replay, and how an op
names its kernel.

A kernel owns the buffers of one graph node of a compiled step and, given the names of
its inputs in the generated function, writes the NumPy calls of the node's forward and
backward. An op names its kernel in ``Function.kernel`` (the class, or ``"module:Name"``
naming it, imported on first use); the compiler asks that class whether it
``accepts`` each node of the op, tries its ``fallback`` if not, and replays the op's own
``forward``/``backward`` (:class:`GenericKernel`) when no kernel fits. A user's own
``Function`` gets a kernel the same way::

    class Square(cr.Function):
        kernel = SquareKernel          # a Kernel subclass; or "mypackage.kernels:SquareKernel"
        ...

``emit_backward`` returns, per input, ``(expression, wrote_dest, array)`` or None: the
expression holds the gradient; ``wrote_dest`` says it was written straight into the
destination the plan offered (a parameter's gradient buffer); ``array`` is the buffer
itself, so the next kernel can see its layout (None when unknown).
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.autograd import Context, Function

if TYPE_CHECKING:
    from chainrule.compiler.codegen import Source
    from chainrule.compiler.plan import Plan

__all__ = ["GenericKernel", "Kernel", "kernel_class"]


class Kernel:
    """Base class of kernels: what the compiler asks of one, in the order it asks.

    1. ``accepts(plan, i)`` (classmethod): can this class compile node ``i``? (its
       dtypes, shapes, where its arguments come from: ``plan.values(i)``,
       ``plan.specs[i]``). If not, ``fallback`` is tried, and at last the generic replay.
    2. ``choose_layout(plan, i)`` (classmethod): record layout wishes on the plan
       (``plan.columns[i]``, weights to store transposed, ``[W | b]`` blocks) before
       the parameters are packed. Most kernels have none.
    3. ``Kernel(plan, i)``: one instance per node, allocating its buffers from the
       traced values. ``value`` is the array its forward writes, or None when each call
       returns a new array (then the next kernel cannot know its layout).
    4. ``emit_forward(src, args, i)`` writes the forward with ``src.emit(line)`` and
       returns the expression of the node's value; ``args`` are the names of the node's
       arguments (``"None"`` for None). ``src.const(obj, prefix)`` names a buffer.
    5. ``emit_backward(src, up, i, seed, up_array, dests)`` writes the backward from
       the upstream gradient named ``up`` (``seed``: the node is the loss and ``up`` is
       ones; ``up_array``: the array behind ``up`` when known, else None; ``dests``:
       per input, a parameter's gradient array it may write into (where its gradient is
       the first contribution there), else None).

    ``buffered = True`` promises that every gradient returned is a complete array of
    its input's shape; otherwise the compiler turns None into zeros and sums broadcast
    gradients back to the input's shape, as the eager engine does.

    ``accumulates = True`` says the kernel adds its gradients for parameters into the
    arrays ``dests`` offers (every parameter's gradient array, not only where it is the
    first contribution; the compiler zeroes it first where it is) and returns them as
    written (``wrote_dest`` True): one pass instead of a gradient and an addition.
    """

    __slots__ = ("value",)
    buffered = False
    accumulates = False
    #: The kernel class to try when ``accepts`` says no (None: the generic replay).
    fallback: type[Kernel] | None = None

    def __init__(self, plan: Plan, i: int) -> None:
        self.value: np.ndarray | None = None

    @classmethod
    def accepts(cls, plan: Plan, i: int) -> bool:
        """Whether this kernel can compile node ``i`` of the plan."""
        return True

    @classmethod
    def choose_layout(cls, plan: Plan, i: int) -> None:
        """Record the layout node ``i`` wants for its value and its parameters."""

    def describe(self) -> str:
        """A few words for the generated source's comments."""
        return type(self).__name__

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        raise NotImplementedError(f"{type(self).__name__}: emit_forward is not defined")

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        raise NotImplementedError(f"{type(self).__name__}: emit_backward is not defined")


class GenericKernel(Kernel):
    """Replays any Function by calling its own forward and backward.

    The node gets a context of its own (the recorded graph is left as it was), whose
    ``needs_input_grad`` are the plan's: an input of the step never needs a gradient.
    """

    __slots__ = ("ctx", "fn")

    def __init__(self, plan: Plan, i: int) -> None:
        super().__init__(plan, i)  # value None: a new array on every call, layout unknown
        self.fn: type[Function] = plan.nodes[i].fn
        self.ctx = Context()
        self.ctx.fn = self.fn
        self.ctx.needs_input_grad = list(plan.needs[i])

    def describe(self) -> str:
        return f"{self.fn.__name__.lower()} (its own forward/backward)"

    def forward(self, *args: Any) -> Any:
        ctx = self.ctx
        ctx.saved = ()
        out = self.fn.forward(ctx, *args)
        return out if type(out) is np.ndarray else np.asarray(out)

    def backward(self, upstream: np.ndarray) -> tuple:
        grads = self.fn.backward(self.ctx, upstream)
        return grads if type(grads) is tuple else (grads,)

    def emit_forward(self, src: Source, args: list[str], i: int) -> str:
        src.emit(f"v{i} = {src.const(self.forward, 'forward')}({', '.join(args)})")
        return f"v{i}"

    def emit_backward(self, src: Source, up: str, i: int, seed: bool,
                      up_array: np.ndarray | None, dests: list) -> list:
        src.emit(f"o{i} = {src.const(self.backward, 'backward')}({up})")
        return [(f"o{i}[{k}]", False, None) for k in range(len(dests))]


def kernel_class(fn: type[Function]) -> type[Kernel] | None:
    """The kernel class ``fn.kernel`` names (imported once), or None for the replay.

    >>> kernel_class(cr.ops.linalg.Linear).__name__
    'LinearKernel'
    """
    spec = getattr(fn, "kernel", None)
    if isinstance(spec, str):
        spec = _import(fn.__name__, spec)
    if spec is not None and not (isinstance(spec, type) and issubclass(spec, Kernel)):
        raise TypeError(f"{fn.__name__}.kernel: expected a Kernel subclass or "
                        f"'module:Name' naming one, got {spec!r}")
    return spec


@functools.cache
def _import(op: str, spec: str) -> Any:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ImportError(f"{op}.kernel: cannot import {spec!r} ({e})") from None
