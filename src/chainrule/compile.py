"""Compiled training steps: trace the graph once, then replay it without building it.

An eager step builds a new graph every time: Tensor objects, node contexts, a
topological sort. For a tiny network that bookkeeping costs more than the arithmetic.
``cr.compile`` traces a fixed-shape step once, keeps the node order and the gradient
routes, and on every later call replays only the kernels, writing into buffers that
are allocated once and reused (gradients included)::

    model = cr.nn.MLP(784, [512, 256], 10)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    criterion = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: criterion(model(x), y), opt, model=model)
    for x, y in loader:
        loss = step(x, y)      # forward, loss, backward, optimizer.step()

The replay runs the same NumPy operations as the eager path, so results agree with it to
float rounding (the tests check it). A new input shape or dtype triggers a new trace.
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
from chainrule.ops.loss import CrossEntropy
from chainrule.tensor import Tensor, get_rng_state, set_rng_state

__all__ = ["CompileError", "CompiledStep", "compile"]


class CompileError(ChainruleError, ValueError):
    """A step that cannot be replayed faithfully; run it eagerly instead."""

# Reductions through the ufuncs directly: np.sum/np.max add a Python wrapper per call.
_add_reduce = np.add.reduce
_max_reduce = np.maximum.reduce

#: Plans kept per step (one per input signature: e.g. full batches and a last short one).
_MAX_PLANS = 4

# Where a node's argument comes from on replay.
_NODE, _INPUT, _LEAF, _CONST = 0, 1, 2, 3


class _GenericKernel:
    """Replays any Function by calling its own forward and backward."""

    __slots__ = ("ctx", "fn")

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


class _LinearKernel:
    """``x @ W.T + b`` and its backward into buffers allocated once."""

    __slots__ = ("gb", "gw", "gx", "need", "out", "w", "x")

    def __init__(self, x: np.ndarray, w: np.ndarray, b: Any, need: list) -> None:
        dtype = np.result_type(x, w)
        self.out = np.empty((x.shape[0], w.shape[0]), dtype=dtype)
        self.gx = np.empty(x.shape, dtype=dtype) if need[0] else None
        self.gw = np.empty(w.shape, dtype=dtype) if need[1] else None
        self.gb = np.empty(w.shape[0], dtype=dtype) if (b is not None and need[2]) else None
        self.need = need
        self.x = self.w = None

    def forward(self, x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
        self.x, self.w = x, w
        out = np.matmul(x, w.T, out=self.out)
        if b is not None:
            np.add(out, b, out=out)
        return out

    def backward(self, upstream: np.ndarray) -> tuple:
        gx = np.matmul(upstream, self.w, out=self.gx) if self.gx is not None else None
        gw = np.matmul(upstream.T, self.x, out=self.gw) if self.gw is not None else None
        gb = _add_reduce(upstream, 0, None, self.gb) if self.gb is not None else None
        return gx, gw, gb


class _ReLUKernel:
    """``max(0, x)``; backward multiplies by the saved 0/1 mask.

    Operands of the input's own shape and dtype (a zero array, a float mask) keep NumPy
    on its fastest loops: no scalar conversion, no bool-to-float cast per call.
    """

    __slots__ = ("grad", "mask", "out", "zeros")

    def __init__(self, x: np.ndarray) -> None:
        self.out = np.empty_like(x)
        self.zeros = np.zeros_like(x)
        self.mask = np.empty_like(x)
        self.grad = np.empty_like(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.maximum(x, self.zeros, out=self.out)
        np.sign(out, out=self.mask)  # out >= 0, so its sign is the 0/1 mask
        return out

    def backward(self, upstream: np.ndarray) -> tuple:
        return (np.multiply(upstream, self.mask, out=self.grad),)


class _CrossEntropyKernel:
    """Softmax loss with buffers for the shifted scores, exponentials and the gradient."""

    __slots__ = ("e", "flat", "grad", "logz", "m", "rows", "scale", "shift", "z")

    def __init__(self, scores: np.ndarray, reduction: str) -> None:
        n, c = scores.shape
        self.m = np.empty((n, 1), dtype=scores.dtype)
        self.z = np.empty((n, 1), dtype=scores.dtype)
        self.logz = np.empty((n, 1), dtype=scores.dtype)
        self.shift = np.empty_like(scores)
        self.e = np.empty_like(scores)
        self.grad = np.empty_like(scores)
        self.rows = np.arange(0, n * c, c)  # flat offset of each row
        self.flat = np.empty(n, dtype=np.intp)  # flat index of each true class
        self.scale = 1.0 / n if reduction == "mean" else 1.0

    def forward(self, scores: np.ndarray, labels: np.ndarray, reduction: str) -> np.ndarray:
        np.add(self.rows, labels, out=self.flat)
        _max_reduce(scores, 1, None, self.m, True)
        np.subtract(scores, self.m, out=self.shift)
        np.exp(self.shift, out=self.e)
        _add_reduce(self.e, 1, None, self.z, True)
        np.log(self.z, out=self.logz)
        total = _add_reduce(self.logz, None) - _add_reduce(self.shift.take(self.flat), None)
        return np.asarray(total * self.scale, dtype=scores.dtype)

    def backward(self, upstream: np.ndarray) -> tuple:
        g = np.divide(self.e, self.z, out=self.grad)
        flat_g = g.reshape(-1)
        flat_g[self.flat] -= 1
        np.multiply(g, upstream * self.scale, out=g)
        return g, None, None


def _make_kernel(node: Context, args: list) -> Any:
    """A buffered kernel for the ops that dominate MLP training, else the generic one."""
    fn = node.fn
    if fn is Linear and args[0].ndim == 2 and args[0].dtype == args[1].dtype:
        return _LinearKernel(args[0], args[1], args[2], list(node.needs_input_grad))
    if fn is ReLU:
        return _ReLUKernel(args[0])
    if fn is CrossEntropy and args[2] in ("mean", "sum") and args[0].ndim == 2:
        return _CrossEntropyKernel(args[0], args[2])
    return _GenericKernel(fn, node)


class _Plan:
    """The recorded step: kernels in forward order and the gradient routes for backward."""

    __slots__ = (
        "backward", "extras", "forward", "leaf_buffers", "leaves", "loss_dtype", "run", "signature",
    )

    def __init__(self) -> None:
        self.forward: list = []  # (kernel, arg specs)
        self.backward: list = []  # (node index, kernel, routes)
        self.leaves: list[Tensor] = []
        self.extras: list[int] = []
        self.leaf_buffers: list[np.ndarray | None] = []
        self.signature: tuple = ()
        self.loss_dtype = np.dtype(np.float32)
        self.run: Callable[[list], np.ndarray] = _no_plan


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

    # ------------------------------------------------------------------ public
    def __call__(self, *inputs: Any) -> Any:
        """One step: forward, loss, backward, ``optimizer.step()``; returns the loss.

        If the step function returns ``(loss, *extras)`` the step returns them too; the
        extras share the step's buffers, so read them before the next call.
        """
        arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
        signature = tuple((a.shape, a.dtype.str) for a in arrays)
        plan = self.plan
        if plan is None or plan.signature != signature:
            plan = self.plans.get(signature)
            if plan is None:
                if len(self.plans) >= _MAX_PLANS:
                    self.plans.clear()
                plan = self.plans[signature] = self._trace(arrays, signature)
            self.plan = plan
        result = plan.run(arrays)
        if self.optimizer is not None:
            self.optimizer.step()
        if plan.extras:
            return tuple(Tensor._from_op(v, None) for v in result)
        return Tensor._from_op(result, None)

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
        plan.loss_dtype = loss.dtype
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

        # Forward: one kernel per node, with buffers sized from the traced values.
        for node, specs in zip(nodes, specs_per_node):
            args, needs = [], []
            for kind, payload in specs:
                if kind == _NODE:
                    args.append(nodes[payload].out)
                    needs.append(grad_nodes[payload])
                elif kind == _LEAF:
                    args.append(plan.leaves[payload].data)
                    needs.append(plan.leaves[payload].requires_grad)
                else:
                    args.append(arrays[payload] if kind == _INPUT else payload)
                    needs.append(False)
            node.needs_input_grad = needs
            plan.forward.append((_make_kernel(node, args), specs))

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
        plan.leaf_buffers = [None] * len(plan.leaves)
        plan.run = _generate(plan, len(arrays))
        return plan

def _no_plan(arrays: list) -> np.ndarray:
    raise RuntimeError("compile: the step has not been traced yet")


_BUFFERED = (_LinearKernel, _ReLUKernel, _CrossEntropyKernel)


def _generate(plan: _Plan, n_inputs: int) -> Callable[[list], np.ndarray]:
    """Write the replay as straight-line Python: one call per kernel, no loops or lookups.

    The generated function reads the inputs, calls each kernel's forward, then each
    backward in reverse order, routing gradients exactly as the eager engine would.
    """
    ns: dict[str, Any] = {
        "_unbroadcast": unbroadcast, "_owned": _owned, "_buffer": _buffer, "_plan": plan,
        "_add": np.add, "_zeros": np.zeros, "ONE": np.ones((), dtype=plan.loss_dtype),
    }
    lines = ["def replay(arrays):"]
    lines += [f"    a{k} = arrays[{k}]" for k in range(n_inputs)]
    for i, (kernel, specs) in enumerate(plan.forward):
        ns[f"f{i}"] = kernel.forward
        args = []
        for j, (kind, payload) in enumerate(specs):
            if kind == _NODE:
                args.append(f"v{payload}")
            elif kind == _INPUT:
                args.append(f"a{payload}")
            elif kind == _LEAF:
                ns[f"L{payload}"] = plan.leaves[payload]
                args.append(f"L{payload}.data")
            else:
                ns[f"c{i}_{j}"] = payload
                args.append(f"c{i}_{j}")
        lines.append(f"    v{i} = f{i}({', '.join(args)})")
    last = len(plan.forward) - 1
    lines.append(f"    g{last} = ONE")
    for i, kernel, routes in plan.backward:
        ns[f"b{i}"] = kernel.backward
        buffered = isinstance(kernel, _BUFFERED)
        lines.append(f"    o = b{i}(g{i})")
        for k, kind, payload, first, shape in routes:
            ns[f"S{i}_{k}"] = shape
            lines.append(f"    g = o[{k}]")
            if not buffered:
                lines.append(f"    if g is None: g = _zeros(S{i}_{k}, ONE.dtype)")
                lines.append(f"    if g.shape != S{i}_{k}: g = _unbroadcast(g, S{i}_{k})")
            if kind == _NODE:
                lines.append(f"    g{payload} = g" if first else f"    g{payload} = g{payload} + g")
                continue
            leaf = f"L{payload}"
            if not first:
                lines.append(f"    _add({leaf}.grad, g, out={leaf}.grad)")
            elif buffered:
                lines.append(f"    {leaf}.grad = g")  # the kernel's own buffer, reused each step
            else:
                ns[f"D{payload}"] = plan.leaves[payload].data.dtype
                lines.append(f"    if g.dtype != D{payload}: g = g.astype(D{payload})")
                own = f"_owned(g, g{i}, o, {k})"
                lines.append(f"    {leaf}.grad = g if {own} else _buffer(_plan, {payload}, g)")
    outputs = ", ".join(f"v{i}" for i in [last, *plan.extras])
    lines.append(f"    return {outputs}")
    code = builtins.compile("\n".join(lines), "<chainrule.compile replay>", "exec")
    exec(code, ns)  # our own generated source, built from the traced graph only
    return ns["replay"]


def _owned(g: np.ndarray, upstream: np.ndarray, out: tuple, k: int) -> bool:
    """Whether ``g`` may become a ``.grad`` as it is (not a view, not shared in ``out``)."""
    if g.base is not None or g is upstream:
        return False
    return all(o is not g for j, o in enumerate(out) if j != k)


def _buffer(plan: _Plan, slot: int, g: np.ndarray) -> np.ndarray:
    buf = plan.leaf_buffers[slot]
    if buf is None or buf.shape != g.shape or buf.dtype != g.dtype:
        buf = plan.leaf_buffers[slot] = np.empty_like(g)
    np.copyto(buf, g)
    return buf


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
            if isinstance(x, Tensor) or isinstance(y, Tensor):
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
