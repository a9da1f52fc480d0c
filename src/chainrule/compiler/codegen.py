"""Writing a traced step as one straight-line Python function (the replay)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.autograd import unbroadcast
from chainrule.compiler.arena import updates_packed
from chainrule.compiler.plan import INPUT, LEAF, NODE
from chainrule.ops.loss import check_labels

if TYPE_CHECKING:
    from chainrule.compiler.arena import Arena
    from chainrule.compiler.plan import Plan


class Stale(Exception):
    """A parameter's ``.data`` is no longer the array the plan was built on."""


MISS = object()  # what a plan's fast entry returns for inputs of another signature

# The names the generated code calls. Reductions go through the ufuncs directly:
# np.sum/np.max add a Python wrapper per call.
_NAMESPACE: dict[str, Any] = {
    "_add": np.add, "_subtract": np.subtract, "_multiply": np.multiply, "_divide": np.divide,
    "_maximum": np.maximum, "_minimum": np.minimum, "_sign": np.sign,
    "_greater": np.greater, "_greater_equal": np.greater_equal, "_equal": np.equal,
    "_less_equal": np.less_equal,
    "_absolute": np.absolute, "_negative": np.negative, "_copysign": np.copysign,
    "_exp": np.exp, "_expm1": np.expm1, "_log": np.log, "_tanh": np.tanh, "_sqrt": np.sqrt,
    "_dot": np.dot, "_matmul": np.matmul, "_copyto": np.copyto,
    "_zeros": np.zeros, "_add_reduce": np.add.reduce, "_max_reduce": np.maximum.reduce,
    "_unbroadcast": unbroadcast, "_check_labels": check_labels, "_ndarray": np.ndarray,
    "_Stale": Stale, "_MISS": MISS, "_Tensor": Tensor,
}


class Source:
    """The replay function being written: its lines and the objects its names refer to."""

    __slots__ = ("count", "lines", "names", "ns")

    def __init__(self) -> None:
        self.ns: dict[str, Any] = dict(_NAMESPACE)
        self.lines: list[str] = []
        self.names: dict[Any, str] = {}
        self.count = 0

    def const(self, obj: Any, prefix: str) -> str:
        """The name bound to ``obj`` in the generated function's globals.

        ``prefix_N``: the underscore keeps these apart from the replay's locals
        (``a0``, ``v3``, ``g3``, ...). An array gets one name however many view objects
        of it are passed (same memory, shape and strides), so the source shows which
        kernel reads which buffer."""
        if isinstance(obj, np.ndarray):
            key: Any = (obj.__array_interface__["data"][0], obj.shape, obj.strides, obj.dtype)
        else:
            key = id(obj)
        name = self.names.get(key)
        if name is None:
            self.count += 1
            name = self.names[key] = f"{prefix}_{self.count}"
            self.ns[name] = obj
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)


def generate(plan: Plan, optimizer: Any = None, gradient_hook: Any = None) -> None:
    """Write the replay: no loops, no lookups, one name per buffer.

    The generated ``replay`` checks that the parameters still hold the arrays it was
    built on, runs each kernel's forward, then each backward in reverse order (routing
    gradients exactly as the eager engine would), sets the ``.grad`` of every parameter
    and runs the optimizer. ``fast`` is the entry for arrays (or Tensors) of the traced
    shapes and dtypes; it returns ``MISS`` for anything else. Sets the plan's ``run``,
    ``fast`` and ``source``. A ``gradient_hook`` is called between the backward pass and
    the update (:func:`_emit_gradient_hook`).
    """
    src = Source()
    loss = plan.nodes[-1].out
    names = ", ".join(f"a{k}" for k in range(len(plan.signature)))
    src.lines.append(f"def replay({names}):")
    leaves = [src.const(leaf, "L") for leaf in plan.leaves]
    data = [src.const(leaf.data, "D") for leaf in plan.leaves]
    stale = [f"{L}.data is not {D}" for L, D in zip(leaves, data)]
    stale += [f"{src.const(obj, 'M')}.{attr} is not {src.const(value, 'was')}"
              for obj, attr, value in plan.guards]
    if stale:
        src.emit("# the parameters (and the modules' modes and buffers) must still be what "
                 "this plan was built on")
        src.emit(f"if {' or '.join(stale)}: raise _Stale")

    values: list[str] = []
    for i, (kernel, specs) in enumerate(plan.forward):
        args = []
        for kind, payload in specs:
            if kind == NODE:
                args.append(values[payload])
            elif kind == INPUT:
                args.append(f"a{payload}")
            elif kind == LEAF:
                args.append(data[payload])
            else:
                args.append("None" if payload is None else src.const(payload, "c"))
        src.emit(f"# node {i}: {kernel.describe()}")
        values.append(kernel.emit_forward(src, args, i))

    _emit_backward(src, plan, loss.shape, loss.dtype)
    if plan.grad_buffers:
        src.emit("# the parameters' gradients (each step overwrites the same arrays)")
    for slot, grad in plan.grad_buffers.items():
        src.emit(f"{leaves[slot]}.grad = {src.const(grad, 'G')}")
    if gradient_hook is not None:
        _emit_gradient_hook(src, plan, gradient_hook)
    if optimizer is not None:
        src.emit("# the optimizer step")
        _emit_update(src, optimizer, plan.arena)
    last = len(plan.forward) - 1
    src.emit(f"return {', '.join(values[i] for i in [last, *plan.extras])}")

    fits = " or ".join(
        f"type(a{k}) is not _ndarray or a{k}.shape != {shape!r} or a{k}.dtype != "
        f"{src.const(dtype, 'dtype')}" for k, (shape, dtype) in enumerate(plan.signature)
    ) or "False"
    unwrap = [f"    if type(a{k}) is _Tensor: a{k} = a{k}.data"
              for k in range(len(plan.signature))]
    src.lines += [f"def fast({names}):", *unwrap, f"    if {fits}: return _MISS",
                  f"    return replay({names})"]
    source = "\n".join(src.lines)
    code = compile(source, "<chainrule.compiler replay>", "exec")
    exec(code, src.ns)  # our own generated source, built from the traced graph only
    plan.run, plan.fast, plan.source = src.ns["replay"], src.ns["fast"], source


def _emit_backward(src: Source, plan: Plan, loss_shape: tuple, loss_dtype: np.dtype) -> None:
    """Each node's backward in reverse order; every gradient goes where eager sends it."""
    last = len(plan.forward) - 1
    src.emit(f"g{last} = {src.const(np.ones(loss_shape, dtype=loss_dtype), 'seed')}")
    # The array behind g{j} when it is one buffered kernel's buffer (its layout is known).
    known: dict[int, np.ndarray | None] = {last: None}
    for i, kernel, routes in plan.backward:
        dests = [None] * len(plan.forward[i][1])
        src.emit(f"# backward of node {i}: {kernel.describe()}")
        for k, kind, payload, first, _ in routes:
            if kind == LEAF and (first or kernel.accumulates):
                dests[k] = plan.grad_buffers[payload]
                if first and kernel.accumulates:  # it adds: start from zero
                    src.emit(f"{src.const(dests[k], 'G')}.fill(0)")
        grads = kernel.emit_backward(src, f"g{i}", i, i == last, known.get(i), dests)
        for k, kind, payload, first, shape in routes:
            expr, wrote, array = grads[k]
            if not kernel.buffered:
                shape_name = src.const(shape, "shape")
                src.emit(f"g = {expr}")
                src.emit(f"if g is None: g = _zeros({shape_name}, {src.const(loss_dtype, 'dt')})")
                src.emit(f"if g.shape != {shape_name}: g = _unbroadcast(g, {shape_name})")
                expr = "g"
            if kind == NODE:
                if first:
                    src.emit(f"g{payload} = {expr}")
                    known[payload] = array
                else:
                    src.emit(f"g{payload} = g{payload} + {expr}")
                    known[payload] = None
            elif not wrote:
                grad = src.const(plan.grad_buffers[payload], "G")
                if first:
                    src.emit(f"_copyto({grad}, {expr})")
                else:
                    src.emit(f"_add({grad}, {expr}, out={grad})")


def _emit_gradient_hook(src: Source, plan: Plan, hook: Any) -> None:
    """The hook on the finished gradients (data parallelism averages them over the ranks
    here): once per packed parameter group with its flat gradients, so each group travels
    as one array in place; unpacked, once with every parameter's gradient."""
    name = src.const(hook, "gradient_hook")
    src.emit("# the gradient hook (e.g. the all-reduce of data-parallel training)")
    if plan.arena is not None:
        for flat in plan.arena.groups:
            src.emit(f"{name}(({src.const(flat.grad, 'G')},))")
    elif plan.grad_buffers:
        grads = "".join(f"{src.const(g, 'G')}, " for g in plan.grad_buffers.values())
        src.emit(f"{name}(({grads}))")


def _emit_update(src: Source, optimizer: Any, arena: Arena | None) -> None:
    """The optimizer step: an elementwise rule updates each packed group as a whole
    (:class:`~chainrule.compiler.arena.FlatOptimizer`, calling ``optimizer.update``);
    anything else, or a state that cannot be packed, runs ``optimizer.step()``."""
    step = src.const(optimizer.step, "optimizer_step")
    if arena is None or not updates_packed(optimizer):
        src.emit(f"{step}()")
        return
    groups = optimizer.param_groups
    steppers = [src.const(s, "flat_optimizer") for s in arena.flat_optimizers(optimizer)]
    checks = [f"len({src.const(groups, 'groups')}) == {len(groups)}"]
    for group in groups:
        checks.append(f"{src.const(group, 'group')}['params'] is "
                      f"{src.const(group['params'], 'params')}")
    checks += [f"{s}.ready()" for s in steppers]
    src.emit(f"if {' and '.join(checks)}:")
    src.lines.extend(f"        {s}.step()" for s in steppers)
    src.emit("else:")
    src.emit(f"    {step}()")
