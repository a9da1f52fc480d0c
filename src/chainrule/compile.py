"""Compiled training steps: trace the graph once, then replay it without building it.

An eager step builds a new graph every time: Tensor objects, node contexts, a
topological sort. For a tiny network that bookkeeping costs more than the arithmetic.
``cr.compile`` traces a fixed-shape step once, keeps the node order and the gradient
routes, and writes the whole step (forward, backward, optimizer update) as one
straight-line Python function whose NumPy calls write into buffers allocated once::

    model = cr.nn.MLP(784, [512, 256], 10)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    criterion = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: criterion(model(x), y), opt, model=model)
    for x, y in loader:
        loss = step(x, y)      # forward, loss, backward, optimizer.step()

How it gets its speed:

- **Kernels written inline.** Linear, ReLU and the softmax loss (the ops that dominate
  an MLP) are emitted as NumPy calls into preallocated buffers; any other op replays
  its own ``Function.forward``/``backward``.
- **One array per parameter group.** When every parameter of the optimizer gets a
  gradient, the parameters of each group are packed into one flat array (each
  parameter's ``.data`` becomes a view of it) and so are their gradients. Backward
  writes weight gradients straight into that array, and plain SGD then updates a whole
  group in two NumPy calls instead of two per parameter. Other optimizers run their
  usual ``step()`` on the views.
- **Weight layout.** A layer that narrows (``in >= out``, e.g. 3072 -> 100) keeps its
  weight stored transposed, so the forward product reads it contiguously. The
  weight is still an ``(out, in)`` array, only a Fortran-ordered view.

The replay runs the same arithmetic as the eager path, so results agree with it to
float rounding (the tests check it). A new input shape or dtype triggers a new trace,
and so does a parameter whose ``.data`` was replaced by another array.
Dropout works (its mask is drawn inside its op, so every replay draws a new one, from
the same random stream as the eager step). What cannot be replayed is refused with a
clear error rather than replayed wrongly: values that change from call to call outside
any op (a hand-made random mask), Python side effects (batch-norm running statistics),
labels that are transformed before reaching the loss.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd import Context, Function, _topological_nodes, unbroadcast
from chainrule.errors import ChainruleError
from chainrule.ops.activation import ReLU
from chainrule.ops.linalg import Linear
from chainrule.ops.loss import CrossEntropy, MulticlassHinge, _labels
from chainrule.optim.sgd import SGD
from chainrule.tensor import Tensor, get_rng_state, set_rng_state

__all__ = ["CompileError", "CompiledStep", "compile"]


class CompileError(ChainruleError, ValueError):
    """A step that cannot be replayed faithfully; run it eagerly instead."""


class _Stale(Exception):
    """A parameter's ``.data`` is no longer the array the plan was built on."""


#: Plans kept per step (one per input signature: e.g. full batches and a last short one).
_MAX_PLANS = 4

#: Products up to this many multiply-adds go through ``np.dot``, whose per-call overhead
#: is about 1 us below ``np.matmul``'s; larger ones through ``np.matmul``.
_SMALL_PRODUCT = 1 << 17

#: A Linear weight with ``in >= _INPUT_MAJOR * out`` is stored transposed (see _Arena).
_INPUT_MAJOR = 1

#: ReLU masks up to this many elements come from np.sign (see _ReLUKernel).
_SIGN_MASK = 4096

# Where a node's argument comes from on replay.
_NODE, _INPUT, _LEAF, _CONST = 0, 1, 2, 3

# The names the generated code calls. Reductions go through the ufuncs directly:
# np.sum/np.max add a Python wrapper per call.
_NAMESPACE: dict[str, Any] = {
    "_add": np.add, "_subtract": np.subtract, "_multiply": np.multiply, "_divide": np.divide,
    "_maximum": np.maximum, "_sign": np.sign, "_greater": np.greater,
    "_exp": np.exp, "_log": np.log,
    "_dot": np.dot, "_matmul": np.matmul, "_copyto": np.copyto, "_array": np.asarray,
    "_zeros": np.zeros, "_add_reduce": np.add.reduce, "_max_reduce": np.maximum.reduce,
    "_unbroadcast": unbroadcast, "_labels": _labels,
}


class _Source:
    """The replay function being written: its lines and the objects its names refer to."""

    __slots__ = ("count", "lines", "ns")

    def __init__(self) -> None:
        self.ns: dict[str, Any] = dict(_NAMESPACE)
        self.lines: list[str] = []
        self.count = 0

    def const(self, obj: Any, prefix: str) -> str:
        """A fresh name bound to ``obj`` in the generated function's globals."""
        self.count += 1
        name = f"{prefix}{self.count}"
        self.ns[name] = obj
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)


# ------------------------------------------------------------------------------ kernels
# Every kernel writes its forward and backward as lines of the replay function.
# ``emit_backward`` returns, per input, ``(expression, wrote_dest)`` or None: the
# expression holds the gradient; ``wrote_dest`` says it was written straight into the
# destination array the plan offered (a parameter's gradient buffer).


class _GenericKernel:
    """Replays any Function by calling its own forward and backward."""

    __slots__ = ("ctx", "fn")
    buffered = False

    def __init__(self, fn: type[Function], ctx: Context) -> None:
        self.fn = fn
        self.ctx = ctx

    def forward(self, *args: Any) -> Any:
        ctx = self.ctx
        ctx.saved = ()
        out = self.fn.forward(ctx, *args)
        return out if type(out) is np.ndarray else np.asarray(out)

    def backward(self, upstream: np.ndarray) -> tuple:
        grads = self.fn.backward(self.ctx, upstream)
        return grads if type(grads) is tuple else (grads,)

    def emit_forward(self, src: _Source, args: list[str], i: int) -> str:
        src.emit(f"v{i} = {src.const(self.forward, 'forward')}({', '.join(args)})")
        return f"v{i}"

    def emit_backward(self, src: _Source, up: str, i: int, seed: bool, trusted: bool,
                      dests: list) -> list:
        src.emit(f"o{i} = {src.const(self.backward, 'backward')}({up})")
        return [(f"o{i}[{k}]", False) for k in range(len(dests))]


class _LinearKernel:
    """``x @ W.T + b`` and its backward, into buffers allocated once.

    ``W`` is the weight's data as the plan found it: C-ordered, or (input-major) the
    transpose of a C-ordered ``(in, out)`` block; the products are written so that the
    contiguous side is the one BLAS reads.
    """

    __slots__ = ("gb", "gw", "gx", "mm", "ones", "out", "w", "x")
    buffered = True

    def __init__(self, x: np.ndarray, w: np.ndarray, b: Any, need: list) -> None:
        n, size_in = x.shape
        dtype = w.dtype
        self.w = w
        self.out = np.empty((n, w.shape[0]), dtype=dtype)
        self.gx = np.empty((n, size_in), dtype=dtype) if need[0] else None
        self.gw = np.empty(w.shape, dtype=dtype) if need[1] else None
        self.gb = np.empty(w.shape[0], dtype=dtype) if (b is not None and need[2]) else None
        self.ones = np.ones(n, dtype=dtype)  # db = ones @ upstream: one BLAS call
        self.mm = "_dot" if n * w.size <= _SMALL_PRODUCT else "_matmul"
        self.x = ""

    def emit_forward(self, src: _Source, args: list[str], i: int) -> str:
        x, _, b = args
        self.x = x
        out = src.const(self.out, "out")
        src.emit(f"{self.mm}({x}, {src.const(self.w.T, 'wt')}, out={out})")
        if b != "None":
            src.emit(f"_add({out}, {b}, out={out})")
        return out

    def emit_backward(self, src: _Source, up: str, i: int, seed: bool, trusted: bool,
                      dests: list) -> list:
        # np.dot wants its output's exact dtype and layout: only for our own upstreams.
        mm = self.mm if trusted else "_matmul"
        grads: list = [None, None, None]
        if self.gx is not None:
            gx = src.const(self.gx, "gx")
            src.emit(f"{mm}({up}, {src.const(self.w, 'w')}, out={gx})")
            grads[0] = (gx, False)
        if self.gw is not None:
            dest = dests[1] if dests[1] is not None else self.gw
            if dest.flags.c_contiguous:
                gw = src.const(dest, "gw")
                src.emit(f"{mm}({up}.T, {self.x}, out={gw})")
            else:  # input-major: write dW.T = x.T @ upstream into the C-ordered block
                gw = src.const(dest, "gw")
                src.emit(f"{mm}({self.x}.T, {up}, out={src.const(dest.T, 'gwt')})")
            grads[1] = (gw, dests[1] is not None)
        if self.gb is not None:
            dest = dests[2] if dests[2] is not None else self.gb
            gb = src.const(dest, "gb")
            if trusted:
                src.emit(f"_dot({src.const(self.ones, 'ones')}, {up}, out={gb})")
            else:
                src.emit(f"_add_reduce({up}, 0, None, {gb})")
            grads[2] = (gb, dests[2] is not None)
        return grads


class _ReLUKernel:
    """``max(0, x)``; backward multiplies by the saved 0/1 mask.

    Operands of the input's own shape and dtype (a zero array, a float mask) keep NumPy
    on its fastest loops: no scalar conversion. The mask is ``out > 0`` written as
    floats; below ``_SIGN_MASK`` elements ``sign(out)`` (``out >= 0``) gives it about
    2 us sooner, but propagates a NaN where the eager step's mask gives 0.
    """

    __slots__ = ("grad", "mask", "out", "zeros")
    buffered = True

    def __init__(self, x: np.ndarray) -> None:
        self.out = np.empty_like(x)
        self.zeros = np.zeros_like(x)
        self.mask = np.empty_like(x)
        self.grad = np.empty_like(x)

    def emit_forward(self, src: _Source, args: list[str], i: int) -> str:
        out, zeros = src.const(self.out, "out"), src.const(self.zeros, "zeros")
        mask = src.const(self.mask, "mask")
        src.emit(f"_maximum({args[0]}, {zeros}, out={out})")
        if self.out.size <= _SIGN_MASK:
            src.emit(f"_sign({out}, out={mask})")
        else:
            src.emit(f"_greater({out}, {zeros}, out={mask})")
        return out

    def emit_backward(self, src: _Source, up: str, i: int, seed: bool, trusted: bool,
                      dests: list) -> list:
        grad = src.const(self.grad, "grad")
        src.emit(f"_multiply({up}, {src.const(self.mask, 'mask')}, out={grad})")
        return [(grad, False)]


class _CrossEntropyKernel:
    """Softmax loss with buffers for the shifted scores, exponentials and the gradient."""

    __slots__ = ("classes", "dtype", "e", "flat", "grad", "logz", "m", "ones", "picked",
                 "ratio", "rows", "scale", "shift", "z")
    buffered = True

    def __init__(self, scores: np.ndarray, reduction: str) -> None:
        n, c = scores.shape
        dtype = self.dtype = scores.dtype
        self.classes = c
        self.m = np.empty((n, 1), dtype=dtype)
        self.shift = np.empty_like(scores)
        self.e = np.empty_like(scores)
        self.ones = np.ones(c, dtype=dtype)  # row sums as one matrix-vector product
        self.z = np.empty(n, dtype=dtype)
        self.logz = np.empty(n, dtype=dtype)
        self.picked = np.empty(n, dtype=dtype)
        self.ratio = np.empty((n, 1), dtype=dtype)
        self.grad = np.empty_like(scores)
        self.rows = np.arange(0, n * c, c)  # flat offset of each row
        self.flat = np.empty(n, dtype=np.intp)  # flat index of each true class
        self.scale = 1.0 / n if reduction == "mean" else 1.0

    def emit_forward(self, src: _Source, args: list[str], i: int) -> str:
        s, y = args[0], args[1]
        c = src.const
        flat, m, shift, e = c(self.flat, "flat"), c(self.m, "m"), c(self.shift, "shift"), c(
            self.e, "e")
        z, logz, picked = c(self.z, "z"), c(self.logz, "logz"), c(self.picked, "picked")
        src.emit(f"_add({c(self.rows, 'rows')}, {y}, out={flat})")
        src.emit(f"_max_reduce({s}, 1, None, {m}, True)")
        src.emit(f"_subtract({s}, {m}, out={shift})")
        src.emit(f"_exp({shift}, out={e})")
        src.emit(f"_dot({e}, {c(self.ones, 'ones')}, out={z})")
        # L_i = log(sum_j e^{s_j - m}) - (s_y - m)
        src.emit(f"_log({z}, out={logz})")
        src.emit(f"{shift}.take({flat}, None, {picked})")
        src.emit(f"_subtract({logz}, {picked}, out={logz})")
        src.emit(f"v{i} = _array(_add_reduce({logz}, None) * {self.scale!r}, "
                 f"{c(self.dtype, 'dtype')})")
        return f"v{i}"

    def emit_backward(self, src: _Source, up: str, i: int, seed: bool, trusted: bool,
                      dests: list) -> list:
        # (softmax - onehot) * upstream * scale, with softmax = e / z
        c = src.const
        scale = repr(self.scale) if seed else f"c{i}"
        if not seed:
            src.emit(f"c{i} = float({up}) * {self.scale!r}")
        grad = c(self.grad, "grad")
        src.emit(f"_divide({scale}, {c(self.z[:, None], 'zcol')}, out={c(self.ratio, 'ratio')})")
        src.emit(f"_multiply({c(self.e, 'e')}, {c(self.ratio, 'ratio')}, out={grad})")
        src.emit(f"{c(self.grad.reshape(-1), 'gflat')}[{c(self.flat, 'flat')}] -= {scale}")
        return [(grad, False), None, None]


def _make_kernel(node: Context, args: list, specs: list) -> Any:
    """A buffered kernel for the ops that dominate MLP training, else the generic one."""
    fn = node.fn
    if (fn is Linear and args[0].ndim == 2 and args[0].dtype == args[1].dtype
            and specs[1][0] == _LEAF and specs[2][0] in (_LEAF, _CONST)):
        return _LinearKernel(args[0], args[1], args[2], list(node.needs_input_grad))
    if fn is ReLU:
        return _ReLUKernel(args[0])
    if fn is CrossEntropy and args[2] in ("mean", "sum") and args[0].ndim == 2:
        return _CrossEntropyKernel(args[0], args[2])
    return _GenericKernel(fn, node)


# ------------------------------------------------------------------------------ arena
class _Arena:
    """The optimizer's parameters, packed group by group into one flat array each.

    Each parameter's ``.data`` becomes a view of its group's array, and its gradient a
    view of a matching gradient array, so an update of a whole group is one NumPy call
    per operation. A weight listed in ``input_major`` is laid out as its transpose
    (an ``(in, out)`` block) and seen through ``.T``: same shape, Fortran order.
    """

    __slots__ = ("grads", "groups", "keys", "views")

    def __init__(self, groups: list[list[Tensor]], input_major: set[int]) -> None:
        self.keys = [[id(p) for p in params] for params in groups]
        self.groups: list[Tensor] = []  # per group: data = flat values, grad = flat gradients
        self.views: dict[int, np.ndarray] = {}
        self.grads: dict[int, np.ndarray] = {}
        for params in groups:
            dtype = params[0].data.dtype
            data = np.empty(sum(p.data.size for p in params), dtype=dtype)
            grad = np.zeros_like(data)
            offset = 0
            for p in params:
                shape, size = p.data.shape, p.data.size
                view, gview = (a[offset:offset + size] for a in (data, grad))
                if id(p) in input_major:
                    view, gview = view.reshape(shape[::-1]).T, gview.reshape(shape[::-1]).T
                else:
                    view, gview = view.reshape(shape), gview.reshape(shape)
                view[...] = p.data
                p.data = view
                self.views[id(p)], self.grads[id(p)] = view, gview
                offset += size
            flat = Tensor._from_op(data, None)
            flat.grad = grad
            self.groups.append(flat)

    def fits(self, groups: list[list[Tensor]]) -> bool:
        """Whether it still holds exactly these parameters, each still its view."""
        return self.keys == [[id(p) for p in params] for params in groups] and all(
            p.data is self.views[id(p)] for params in groups for p in params
        )


def _arena_groups(optimizer: Any, has_grad: set[int]) -> list[list[Tensor]] | None:
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


# ------------------------------------------------------------------------------ plans
class _Plan:
    """The recorded step: kernels in forward order and the gradient routes for backward."""

    __slots__ = ("backward", "extras", "forward", "grad_buffers", "leaves", "run", "signature",
                 "source")

    def __init__(self) -> None:
        self.forward: list = []  # (kernel, arg specs)
        self.backward: list = []  # (node index, kernel, routes)
        self.leaves: list[Tensor] = []
        self.grad_buffers: dict[int, np.ndarray] = {}  # leaf slot -> its .grad array
        self.extras: list[int] = []
        self.signature: tuple = ()
        self.run: Callable[..., Any] = _no_plan
        self.source = ""  # the generated replay function's Python source


class CompiledStep:
    """A training step traced once and replayed; see :func:`compile`."""

    def __init__(
        self,
        loss_fn: Callable[..., Tensor],
        optimizer: Any = None,
        *,
        model: Any = None,
        check: bool = True,
    ) -> None:
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.model = model
        self.check = check
        self.plan: _Plan | None = None
        self.plans: dict[tuple, _Plan] = {}  # by input shapes and dtypes (a last short batch)
        self.traces = 0
        self._arena: _Arena | None = None

    @property
    def source(self) -> str:
        """The Python source of the last replayed plan (empty before the first call).

        >>> print(step.source)      # every NumPy call one training step makes
        """
        return self.plan.source if self.plan is not None else ""

    # ------------------------------------------------------------------ public
    def __call__(self, *inputs: Any) -> Any:
        """One step: forward, loss, backward, ``optimizer.step()``; returns the loss.

        If the step function returns ``(loss, *extras)`` the step returns them too; the
        extras share the step's buffers, so read them before the next call.
        """
        arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
        signature = tuple([(a.shape, a.dtype) for a in arrays])
        plan = self.plan
        if plan is None or plan.signature != signature:
            plan = self._plan_for(arrays, signature)
        try:
            result = plan.run(*arrays)
        except _Stale:  # a parameter's .data was replaced: every plan is out of date
            self.plans.clear()
            result = self._plan_for(arrays, signature).run(*arrays)
        if type(result) is tuple:
            return tuple(Tensor._from_op(v, None) for v in result)
        return Tensor._from_op(result, None)

    def _plan_for(self, arrays: list, signature: tuple) -> _Plan:
        plan = self.plans.get(signature)
        if plan is None:
            if len(self.plans) >= _MAX_PLANS:
                self.plans.clear()
            plan = self.plans[signature] = self._trace(arrays, signature)
        self.plan = plan
        return plan

    # ------------------------------------------------------------------ tracing
    def _check_model(self) -> None:
        if self.model is None:
            return
        for m in self.model.modules():
            kind = type(m).__name__
            if getattr(m, "training", False) and kind.startswith("BatchNorm"):
                raise CompileError(
                    f"compile: {kind} in training mode cannot be replayed (it updates its "
                    "running statistics in Python on every call); use the eager step"
                )

    def _run_traced(self, arrays: list) -> tuple[Tensor, tuple, list]:
        traced = []
        for a in arrays:
            if a.dtype.kind == "f":
                # Recorded like a parameter, so everything computed from it is in the graph.
                traced.append(Tensor._from_op(a, None).requires_grad_(True))
            else:
                traced.append(Tensor._from_op(a, None))
        result = self.loss_fn(*traced)
        loss, extras = (result[0], tuple(result[1:])) if isinstance(result, tuple) else (result, ())
        if not isinstance(loss, Tensor) or loss.grad_fn is None:
            raise CompileError("compile: the step function must return a loss Tensor with a graph")
        if loss.data.size != 1:
            raise CompileError(f"compile: the loss must be a scalar, got shape {loss.shape}")
        return loss, extras, traced

    def _trace(self, arrays: list, signature: tuple) -> _Plan:
        self._check_model()
        # Tracing must not consume random numbers: the first replay then draws what an
        # eager step would have drawn (dropout masks), and resumed runs stay identical.
        rng_state = get_rng_state()
        try:
            loss, extras, traced = self._run_traced(arrays)
            nodes = _forward_order(loss.grad_fn)
            if self.check:
                # Trace again: a constant that differs between two traces is a value drawn
                # per call outside any op (a hand-made random mask), which a replay would
                # freeze.
                set_rng_state(rng_state)
                loss2, _, _ = self._run_traced(arrays)
                _compare_constants(nodes, _forward_order(loss2.grad_fn))
        finally:
            set_rng_state(rng_state)
        self.traces += 1
        return self._build_plan(nodes, arrays, traced, loss, extras, signature)

    def _build_plan(
        self, nodes: list[Context], arrays: list, traced: list, loss: Tensor, extras: tuple,
        signature: tuple,
    ) -> _Plan:
        plan = _Plan()
        plan.signature = signature
        index = {node: i for i, node in enumerate(nodes)}
        for e in extras:
            if not isinstance(e, Tensor) or e.grad_fn not in index:
                raise CompileError(
                    "compile: extra outputs of the step must be Tensors computed on the way "
                    "to the loss (e.g. the scores)"
                )
        plan.extras = [index[e.grad_fn] for e in extras]
        input_ids = {id(t): k for k, t in enumerate(traced)}
        input_data_ids = {id(a): k for k, a in enumerate(arrays)}
        leaf_ids: dict[int, int] = {}
        labels_seen = {k for k, a in enumerate(arrays) if a.dtype.kind == "f"}

        # Which nodes lead back to a parameter (only those run a backward).
        grad_nodes: list[bool] = []
        specs_per_node = []
        for node in nodes:
            specs = []
            needs = False
            for arg in node.inputs:
                if isinstance(arg, Tensor):
                    if arg.grad_fn is not None:
                        j = index[arg.grad_fn]
                        specs.append((_NODE, j))
                        needs = needs or grad_nodes[j]
                    elif id(arg) in input_ids:
                        specs.append((_INPUT, input_ids[id(arg)]))
                    else:
                        if id(arg) not in leaf_ids:
                            leaf_ids[id(arg)] = len(plan.leaves)
                            plan.leaves.append(arg)
                        specs.append((_LEAF, leaf_ids[id(arg)]))
                        needs = needs or arg.requires_grad
                elif isinstance(arg, np.ndarray) and id(arg) in input_data_ids:
                    k = input_data_ids[id(arg)]
                    labels_seen.add(k)
                    specs.append((_INPUT, k))
                else:
                    specs.append((_CONST, arg))
            grad_nodes.append(needs)
            specs_per_node.append(specs)

        missing = [k for k in range(len(arrays)) if k not in labels_seen]
        if missing:
            raise CompileError(
                f"compile: input {missing[0]} (integer labels) is transformed before it reaches "
                "an op; pass labels straight to the loss so a replay can substitute them"
            )

        # Which arguments need a gradient (the eager engine's needs_input_grad).
        for node, specs in zip(nodes, specs_per_node):
            node.needs_input_grad = [
                grad_nodes[p] if kind == _NODE
                else (kind == _LEAF and plan.leaves[p].requires_grad)
                for kind, p in specs
            ]
        has_grad = {id(plan.leaves[p]) for node, specs in zip(nodes, specs_per_node)
                    for (kind, p), need in zip(specs, node.needs_input_grad)
                    if kind == _LEAF and need}
        self._pack_parameters(has_grad, nodes, specs_per_node)

        # Forward: one kernel per node, with buffers sized from the traced values (and
        # the parameters' current arrays, which packing may have replaced).
        for node, specs in zip(nodes, specs_per_node):
            args = [nodes[p].out if kind == _NODE else plan.leaves[p].data if kind == _LEAF
                    else arrays[p] if kind == _INPUT else p for kind, p in specs]
            plan.forward.append((_make_kernel(node, args, specs), specs))

        # Backward: reverse order; each route says where a gradient goes and whether it
        # is the first contribution there (assign) or a later one (add).
        seen: set = set()
        for i in range(len(nodes) - 1, -1, -1):
            if not grad_nodes[i]:
                continue
            kernel, specs = plan.forward[i]
            routes = []
            for k, (kind, payload) in enumerate(specs):
                if not nodes[i].needs_input_grad[k]:
                    continue
                shape = (nodes[payload].out.shape if kind == _NODE
                         else plan.leaves[payload].data.shape)
                key = (kind, payload)
                routes.append((k, kind, payload, key not in seen, shape))
                seen.add(key)
            plan.backward.append((i, kernel, routes))

        # Every parameter that gets a gradient gets one array for it, kept across steps.
        arena = self._arena
        for slot, leaf in enumerate(plan.leaves):
            if id(leaf) in has_grad:
                plan.grad_buffers[slot] = (
                    arena.grads[id(leaf)] if arena is not None and id(leaf) in arena.grads
                    else np.empty_like(leaf.data)
                )
        plan.run, plan.source = _generate(plan, len(arrays), loss, self.optimizer, arena)
        return plan

    def _pack_parameters(self, has_grad: set[int], nodes: list, specs_per_node: list) -> None:
        """Put the optimizer's parameters into an arena (reusing a still valid one)."""
        groups = _arena_groups(self.optimizer, has_grad)
        if groups is None:
            self._arena = None
            return
        if self._arena is not None and self._arena.fits(groups):
            return
        input_major = set()
        for node, specs in zip(nodes, specs_per_node):
            if node.fn is Linear and specs[1][0] == _LEAF:
                w = node.inputs[1].data
                if w.ndim == 2 and w.shape[1] >= _INPUT_MAJOR * w.shape[0]:
                    input_major.add(id(node.inputs[1]))
        self._arena = _Arena(groups, input_major)


def _no_plan(*arrays: Any) -> Any:
    raise RuntimeError("compile: the step has not been traced yet")


def _generate(plan: _Plan, n_inputs: int, loss: Tensor, optimizer: Any,
              arena: _Arena | None) -> tuple[Callable[..., Any], str]:
    """Write the replay as straight-line Python: no loops, no lookups, one name per buffer.

    The generated function checks that the parameters still hold the arrays it was
    built on, runs each kernel's forward, then each backward in reverse order (routing
    gradients exactly as the eager engine would), sets the ``.grad`` of every parameter
    and runs the optimizer.
    """
    src = _Source()
    src.lines.append(f"def replay({', '.join(f'a{k}' for k in range(n_inputs))}):")
    leaves = [src.const(leaf, "L") for leaf in plan.leaves]
    data = [src.const(leaf.data, "D") for leaf in plan.leaves]
    if leaves:
        stale = " or ".join(f"{L}.data is not {D}" for L, D in zip(leaves, data))
        src.emit(f"if {stale}: raise _Stale")
        src.ns["_Stale"] = _Stale

    values: list[str] = []
    for i, (kernel, specs) in enumerate(plan.forward):
        args = []
        for kind, payload in specs:
            if kind == _NODE:
                args.append(values[payload])
            elif kind == _INPUT:
                args.append(f"a{payload}")
            elif kind == _LEAF:
                args.append(data[payload])
            else:
                args.append("None" if payload is None else src.const(payload, "c"))
        fn = CrossEntropy if isinstance(kernel, _CrossEntropyKernel) else getattr(
            getattr(kernel, "ctx", None), "fn", None)
        if fn in (CrossEntropy, MulticlassHinge) and specs[1][0] == _INPUT:
            dtype = plan.signature[specs[1][1]][1]
            _emit_label_check(src, args[0], args[1], dtype, kernel, fn)
        values.append(kernel.emit_forward(src, args, i))

    last = len(plan.forward) - 1
    src.emit(f"g{last} = {src.const(np.ones(loss.shape, dtype=loss.dtype), 'seed')}")
    trusted = {last: False}
    for i, kernel, routes in plan.backward:
        dests = [None] * len(plan.forward[i][1])
        for k, kind, payload, first, _ in routes:
            if kind == _LEAF and first:
                dests[k] = plan.grad_buffers[payload]
        grads = kernel.emit_backward(src, f"g{i}", i, i == last, trusted.get(i, False), dests)
        for k, kind, payload, first, shape in routes:
            expr, wrote = grads[k]
            if not kernel.buffered:
                shape_name = src.const(shape, "shape")
                src.emit(f"g = {expr}")
                src.emit(f"if g is None: g = _zeros({shape_name}, {src.const(loss.dtype, 'dt')})")
                src.emit(f"if g.shape != {shape_name}: g = _unbroadcast(g, {shape_name})")
                expr = "g"
            if kind == _NODE:
                if first:
                    src.emit(f"g{payload} = {expr}")
                    trusted[payload] = kernel.buffered
                else:
                    src.emit(f"g{payload} = g{payload} + {expr}")
                    trusted[payload] = trusted[payload] and kernel.buffered
            elif not wrote:
                grad = src.const(plan.grad_buffers[payload], "G")
                if first:
                    src.emit(f"_copyto({grad}, {expr})")
                else:
                    src.emit(f"_add({grad}, {expr}, out={grad})")
    for slot, grad in plan.grad_buffers.items():
        src.emit(f"{leaves[slot]}.grad = {src.const(grad, 'G')}")

    if optimizer is not None:
        _emit_update(src, optimizer, arena)
    outputs = ", ".join(values[i] for i in [last, *plan.extras])
    src.emit(f"return {outputs}")
    source = "\n".join(src.lines)
    code = builtins.compile(source, "<chainrule.compile replay>", "exec")
    exec(code, src.ns)  # our own generated source, built from the traced graph only
    return src.ns["replay"], source


def _emit_label_check(src: _Source, scores: str, labels: str, dtype: np.dtype, kernel: Any,
                      fn: type) -> None:
    """Labels come from the caller on every step: check their range as the eager loss
    does (viewed as unsigned, a negative label is huge, so one maximum finds both)."""
    op = "cross_entropy" if fn is CrossEntropy else "multiclass_hinge_loss"
    if isinstance(kernel, _CrossEntropyKernel):
        classes = str(kernel.classes)
    else:
        classes = f"{scores}.shape[1]"
    unsigned = src.const(np.dtype(f"u{dtype.itemsize}"), "unsigned")
    src.emit(f"if _max_reduce({labels}.view({unsigned}), None) >= {classes}: "
             f"_labels({op!r}, {scores}, {labels})")


def _emit_update(src: _Source, optimizer: Any, arena: _Arena | None) -> None:
    """The optimizer step: plain SGD updates each packed group in two NumPy calls
    (through SGD's own update rule), anything else runs ``optimizer.step()``."""
    step = src.const(optimizer.step, "optimizer_step")
    if arena is None or type(optimizer) is not SGD:
        src.emit(f"{step}()")
        return
    groups = optimizer.param_groups
    update = src.const(optimizer._update, "sgd_update")
    checks = [f"len({src.const(groups, 'groups')}) == {len(groups)}"]
    calls = []
    for group, flat in zip(groups, arena.groups):
        g = src.const(group, "group")
        checks.append(f"{g}['momentum'] == 0")
        checks.append(f"{g}['params'] is {src.const(group['params'], 'params')}")
        calls.append(f"    {update}({g}, {src.const(flat, 'flat')}, {{}})")
    src.emit(f"if {' and '.join(checks)}:")
    src.lines.extend("    " + c for c in calls)
    src.emit("else:")
    src.emit(f"    {step}()")


def _forward_order(root: Context) -> list[Context]:
    """Nodes behind ``root`` in an order where every node follows its inputs."""
    pending = _topological_nodes([root])
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for t in node.inputs:
            if isinstance(t, Tensor) and t.grad_fn is not None:
                parent = t.grad_fn
                pending[parent] -= 1
                if pending[parent] == 0:
                    ready.append(parent)
    order.reverse()
    return order


def _compare_constants(first: list[Context], second: list[Context]) -> None:
    if len(first) != len(second):
        raise CompileError(
            "compile: the step builds a different graph on each call; it cannot be replayed"
        )
    for a, b in zip(first, second):
        if a.fn is not b.fn:
            raise CompileError(
                f"compile: the step builds a different graph on each call ({a.fn.__name__} "
                f"then {b.fn.__name__}); it cannot be replayed"
            )
        for x, y in zip(a.inputs, b.inputs):
            if isinstance(x, Tensor) and isinstance(y, Tensor):
                if x is y or x.grad_fn is not None or x.requires_grad:
                    continue  # a parameter, an input or a node: not frozen by a replay
                x, y = x.data, y.data  # a constant Tensor made inside the step function
            elif isinstance(x, Tensor) or isinstance(y, Tensor):
                continue
            if isinstance(x, np.ndarray) and (x.shape != y.shape or not np.array_equal(x, y)):
                raise CompileError(
                    f"compile: an input of {a.fn.__name__} changes between calls without coming "
                    "from the step's inputs or parameters (a random mask, e.g. dropout); "
                    "a replay would freeze it: use the eager step"
                )


def compile(
    loss_fn: Callable[..., Tensor],
    optimizer: Any = None,
    *,
    model: Any = None,
    check: bool = True,
) -> CompiledStep:
    """Trace ``loss_fn(*inputs) -> loss`` once and replay it as a fast training step.

    Each call of the returned step runs forward, backward and (if given)
    ``optimizer.step()`` with preallocated buffers, and returns the loss. Gradients land
    in the parameters' ``.grad`` as in eager mode (no ``zero_grad`` needed: each step
    overwrites them). Pass ``model`` to have training-only layers (dropout, batch norm)
    refused up front.

    >>> step = cr.compile(lambda x, y: F.cross_entropy(model(x), y), opt, model=model)
    >>> loss = step(x_batch, y_batch)
    """
    return CompiledStep(loss_fn, optimizer, model=model, check=check)
