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
    print(step.source)         # the generated function: every NumPy call of a step

How it gets its speed (the parts live in this package):

- **Kernels written inline** (``kernels.py``). Linear, ReLU and the softmax loss, the
  ops that dominate an MLP, are emitted as NumPy calls into preallocated buffers; any
  other op replays its own ``Function.forward``/``backward``.
- **Layouts** (``kernels.py``). Small layers run in the column layout of the lecture's
  ``h = W x + b``, with the bias folded into the product; a layer that narrows
  (``in >= out``, e.g. 3072 -> 100) keeps its weight stored transposed, so the forward
  product reads it contiguously. Shapes never change, only strides.
- **One array per parameter group** (``arena.py``). When every parameter of the
  optimizer gets a gradient, the parameters of each group are packed into one flat
  array (each parameter's ``.data`` becomes a view of it) and so are their gradients.
  Backward writes weight gradients straight into that array, and plain SGD then updates
  a whole group in two NumPy calls instead of two per parameter. Other optimizers run
  their usual ``step()`` on the views.
- **Straight-line code** (``codegen.py``): no loops, no dictionary lookups, no graph.

The replay runs the same arithmetic as the eager path, so results agree with it to
float rounding (the tests check it). A new input shape or dtype triggers a new trace,
and so does a parameter whose ``.data`` was replaced by another array.
Dropout works (its mask is drawn inside its op, so every replay draws a new one, from
the same random stream as the eager step). What cannot be replayed is refused with a
clear error rather than replayed wrongly: values that change from call to call outside
any op (a hand-made random mask), Python side effects (batch-norm running statistics),
labels that are transformed before reaching the loss. Labels are range-checked on
every replay, as in the eager loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd import Context, topological_order
from chainrule.compile.arena import Arena, arena_groups
from chainrule.compile.codegen import CONST, INPUT, LEAF, MISS, NODE, Stale, generate
from chainrule.compile.kernels import (
    SMALL_PRODUCT,
    CrossEntropyKernel,
    GenericKernel,
    LinearKernel,
    ReLUKernel,
)
from chainrule.errors import ChainruleError
from chainrule.ops.activation import ReLU
from chainrule.ops.linalg import Linear
from chainrule.ops.loss import CrossEntropy
from chainrule.tensor import Tensor, get_rng_state, set_rng_state

__all__ = ["CompileError", "CompiledStep", "compile"]


class CompileError(ChainruleError, ValueError):
    """A step that cannot be replayed faithfully; run it eagerly instead."""


#: Plans kept per step (one per input signature: e.g. full batches and a last short one).
_MAX_PLANS = 4

#: A row-layout Linear weight with ``in >= _INPUT_MAJOR * out`` is stored transposed.
_INPUT_MAJOR = 1


class Plan:
    """The recorded step: kernels in forward order and the gradient routes for backward."""

    __slots__ = ("backward", "extras", "fast", "forward", "grad_buffers", "leaves", "run",
                 "signature", "source")

    def __init__(self) -> None:
        self.forward: list = []  # (kernel, arg specs)
        self.backward: list = []  # (node index, kernel, routes)
        self.leaves: list[Tensor] = []
        self.grad_buffers: dict[int, np.ndarray] = {}  # leaf slot -> its .grad array
        self.extras: list[int] = []
        self.signature: tuple = ()
        self.run: Callable[..., Any] = _no_plan
        self.fast: Callable[..., Any] = _miss  # run(), or MISS if the inputs do not fit
        self.source = ""  # the generated replay function's Python source


def _no_plan(*arrays: Any) -> Any:
    raise RuntimeError("compile: the step has not been traced yet")


def _miss(*inputs: Any) -> Any:
    return MISS


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
        self.plan: Plan | None = None
        self.plans: dict[tuple, Plan] = {}  # by input shapes and dtypes (a last short batch)
        self.traces = 0
        self._arena: Arena | None = None
        self._fast: Callable[..., Any] = _miss

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
        try:
            result = self._fast(*inputs)  # the current plan, if the inputs fit it
        except Stale:  # a parameter's .data was replaced: every plan is out of date
            self.plans.clear()
            result = MISS
        if result is MISS:
            result = self._run_any(inputs)
        if type(result) is tuple:
            return tuple(Tensor._from_op(v, None) for v in result)
        return Tensor._from_op(result, None)

    def _run_any(self, inputs: tuple) -> Any:
        """Find (or trace) the plan for these inputs and run it."""
        arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
        signature = tuple([(a.shape, a.dtype) for a in arrays])
        try:
            return self._plan_for(arrays, signature).run(*arrays)
        except Stale:
            self.plans.clear()
            return self._plan_for(arrays, signature).run(*arrays)

    def _plan_for(self, arrays: list, signature: tuple) -> Plan:
        plan = self.plans.get(signature)
        if plan is None:
            if len(self.plans) >= _MAX_PLANS:
                self.plans.clear()
            plan = self.plans[signature] = self._trace(arrays, signature)
        self.plan = plan
        self._fast = plan.fast
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

    def _trace(self, arrays: list, signature: tuple) -> Plan:
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
    ) -> Plan:
        plan = Plan()
        plan.signature = signature
        index = {node: i for i, node in enumerate(nodes)}
        for e in extras:
            if not isinstance(e, Tensor) or e.grad_fn not in index:
                raise CompileError(
                    "compile: extra outputs of the step must be Tensors computed on the way "
                    "to the loss (e.g. the scores)"
                )
        plan.extras = [index[e.grad_fn] for e in extras]
        specs_per_node, grad_nodes = self._specs(plan, nodes, arrays, traced, index)

        # Which arguments need a gradient (the eager engine's needs_input_grad).
        for node, specs in zip(nodes, specs_per_node):
            node.needs_input_grad = [
                grad_nodes[p] if kind == NODE
                else (kind == LEAF and plan.leaves[p].requires_grad)
                for kind, p in specs
            ]
        has_grad = {id(plan.leaves[p]) for node, specs in zip(nodes, specs_per_node)
                    for (kind, p), need in zip(specs, node.needs_input_grad)
                    if kind == LEAF and need}

        # Layouts: small Linear layers in columns, the others in rows (see kernels.py).
        linear = [_is_linear(node, specs) for node, specs in zip(nodes, specs_per_node)]
        col = [ok and nodes[i].inputs[0].shape[0] * nodes[i].inputs[1].data.size <= SMALL_PRODUCT
               for i, ok in enumerate(linear)]
        self._pack_parameters(has_grad, nodes, linear, col)
        users: dict[int, list[int]] = {}
        for i, specs in enumerate(specs_per_node):
            for kind, p in specs:
                if kind == NODE:
                    users.setdefault(p, []).append(i)

        # Forward: one kernel per node, with buffers sized from the traced values (and
        # the parameters' current arrays, which packing may have replaced).
        arena = self._arena
        for i, (node, specs) in enumerate(zip(nodes, specs_per_node)):
            args = [nodes[p].out if kind == NODE else plan.leaves[p].data if kind == LEAF
                    else arrays[p] if kind == INPUT else p for kind, p in specs]
            kind0, p0 = specs[0]
            producer = plan.forward[p0][0] if kind0 == NODE else None  # of the first input
            x_array = producer.value if producer is not None else None
            if linear[i]:
                block = arena.blocks.get(id(node.inputs[1])) if col[i] and arena else None
                x_aug = getattr(producer, "aug", None) if block is not None else None
                kernel: Any = LinearKernel(args[0], args[1], args[2], node.needs_input_grad,
                                           x_array, col[i], block, x_aug)
            elif node.fn is ReLU:
                # Written above a row of ones when its one user folds the bias in.
                user = users.get(i, [])
                augment = (len(user) == 1 and col[user[0]] and arena is not None
                           and id(nodes[user[0]].inputs[1]) in arena.blocks
                           and specs_per_node[user[0]][0] == (NODE, i))
                kernel = ReLUKernel(args[0], x_array, augment)
            elif node.fn is CrossEntropy and args[2] in ("mean", "sum") and args[0].ndim == 2:
                kernel = CrossEntropyKernel(args[0], args[2], x_array)
            else:
                kernel = GenericKernel(node.fn, node)
            plan.forward.append((kernel, specs))

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
                shape = (nodes[payload].out.shape if kind == NODE
                         else plan.leaves[payload].data.shape)
                key = (kind, payload)
                routes.append((k, kind, payload, key not in seen, shape))
                seen.add(key)
            plan.backward.append((i, kernel, routes))

        # Every parameter that gets a gradient gets one array for it, kept across steps.
        for slot, leaf in enumerate(plan.leaves):
            if id(leaf) in has_grad:
                plan.grad_buffers[slot] = (
                    arena.grads[id(leaf)] if arena is not None and id(leaf) in arena.grads
                    else np.empty_like(leaf.data)
                )
        plan.run, plan.fast, plan.source = generate(
            plan, len(arrays), loss.shape, loss.dtype, self.optimizer, arena)
        return plan

    @staticmethod
    def _specs(plan: Plan, nodes: list[Context], arrays: list, traced: list,
               index: dict) -> tuple[list, list[bool]]:
        """Where each node's arguments come from on replay, and which nodes lead back to
        a parameter (only those run a backward). Collects the plan's leaves."""
        input_ids = {id(t): k for k, t in enumerate(traced)}
        input_data_ids = {id(a): k for k, a in enumerate(arrays)}
        leaf_ids: dict[int, int] = {}
        labels_seen = {k for k, a in enumerate(arrays) if a.dtype.kind == "f"}
        grad_nodes: list[bool] = []
        specs_per_node = []
        for node in nodes:
            specs = []
            needs = False
            for arg in node.inputs:
                if isinstance(arg, Tensor):
                    if arg.grad_fn is not None:
                        j = index[arg.grad_fn]
                        specs.append((NODE, j))
                        needs = needs or grad_nodes[j]
                    elif id(arg) in input_ids:
                        specs.append((INPUT, input_ids[id(arg)]))
                    else:
                        if id(arg) not in leaf_ids:
                            leaf_ids[id(arg)] = len(plan.leaves)
                            plan.leaves.append(arg)
                        specs.append((LEAF, leaf_ids[id(arg)]))
                        needs = needs or arg.requires_grad
                elif isinstance(arg, np.ndarray) and id(arg) in input_data_ids:
                    k = input_data_ids[id(arg)]
                    labels_seen.add(k)
                    specs.append((INPUT, k))
                else:
                    specs.append((CONST, arg))
            grad_nodes.append(needs)
            specs_per_node.append(specs)
        missing = [k for k in range(len(arrays)) if k not in labels_seen]
        if missing:
            raise CompileError(
                f"compile: input {missing[0]} (integer labels) is transformed before it reaches "
                "an op; pass labels straight to the loss so a replay can substitute them"
            )
        return specs_per_node, grad_nodes

    def _pack_parameters(self, has_grad: set[int], nodes: list, linear: list[bool],
                         col: list[bool]) -> None:
        """Put the optimizer's parameters into an arena (reusing a still valid one)."""
        groups = arena_groups(self.optimizer, has_grad)
        if groups is None:
            self._arena = None
            return
        if self._arena is not None and self._arena.fits(groups):
            return
        input_major, pairs = set(), {}
        for i, node in enumerate(nodes):
            if not linear[i]:
                continue
            weight, bias = node.inputs[1], node.inputs[2]
            if col[i] and isinstance(bias, Tensor):
                pairs[id(weight)] = bias
            elif not col[i] and weight.shape[1] >= _INPUT_MAJOR * weight.shape[0]:
                input_major.add(id(weight))
        self._arena = Arena(groups, input_major, pairs)


def _is_linear(node: Context, specs: list) -> bool:
    """A Linear node the buffered kernel handles: 2-D input, a parameter as weight and a
    parameter (or nothing) as bias."""
    if node.fn is not Linear:
        return False
    x, w = node.inputs[0], node.inputs[1]
    x_data = x.data if isinstance(x, Tensor) else x
    return (x_data.ndim == 2 and x_data.dtype == w.data.dtype and specs[1][0] == LEAF
            and (specs[2][0] == LEAF or specs[2] == (CONST, None)))


def _forward_order(root: Context) -> list[Context]:
    """Nodes behind ``root`` in an order where every node follows its inputs."""
    return topological_order([root])


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

    Each call of the returned step runs forward, backward and (if given) the optimizer's
    update with preallocated buffers, and returns the loss. Gradients land in the
    parameters' ``.grad`` as in eager mode (no ``zero_grad`` needed: each step
    overwrites them). The optimizer's parameters may be packed into one array per group
    (their ``.data`` become views of it; see docs/compile.md). Pass ``model`` to have
    batch norm in training mode, which cannot be replayed, refused up front.

    >>> step = cr.compile(lambda x, y: F.cross_entropy(model(x), y), opt, model=model)
    >>> loss = step(x_batch, y_batch)
    >>> print(step.source)               # the NumPy calls of one step
    """
    return CompiledStep(loss_fn, optimizer, model=model, check=check)
