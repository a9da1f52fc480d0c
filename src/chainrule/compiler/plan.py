"""From a traced graph to a replay plan, in small stages over one :class:`Plan`.

:func:`build_plan` runs the stages in order; each reads what the earlier ones put on the
plan and adds its own part (the recorded graph itself is only read):

1. :func:`resolve_sources`: where each node's arguments come from on replay (another
   node, a step input, a parameter, a constant), and who uses each node.
2. :func:`mark_gradients`: which arguments need a gradient (the eager engine's
   ``needs_input_grad``, except that the step's inputs need none) and which nodes run a
   backward.
3. :func:`select_kernels`: each node's kernel class, the one its op names in
   ``Function.kernel`` if that class accepts the node, else the generic replay.
4. :func:`choose_layouts`: rows or columns per node, and how parameters want to be
   stored (transposed weights, ``[W | b]`` blocks), as the kernels ask.
5. :func:`pack_parameters`: the optimizer's parameters packed into one array per group
   (an :class:`~chainrule.compiler.arena.Arena`), laid out as asked.
6. :func:`build_kernels`: one kernel per node, with buffers sized from the traced values.
7. :func:`build_routes`: per backward node (in :func:`backward_order`), where each
   gradient goes and whether it is the first contribution there.
8. :func:`allocate_grad_buffers`: one gradient array per parameter that gets one.

Then :func:`chainrule.compiler.codegen.generate` writes the replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.autograd import Context
from chainrule.compiler.arena import Arena, arena_groups
from chainrule.compiler.kernel import GenericKernel, kernel_class
from chainrule.errors import ChainruleError

__all__ = [
    "CONST", "INPUT", "LEAF", "NODE", "CompileError", "Plan", "allocate_grad_buffers",
    "backward_order", "build_kernels", "build_plan", "build_routes", "choose_layouts",
    "mark_gradients", "pack_parameters", "resolve_sources", "select_kernels",
]

#: Where a node's argument comes from on replay: ``(NODE, index of the node)``,
#: ``(INPUT, index of the step's input)``, ``(LEAF, index into plan.leaves)`` (a
#: parameter or a constant Tensor) or ``(CONST, the value itself)``.
NODE, INPUT, LEAF, CONST = 0, 1, 2, 3


class CompileError(ChainruleError, ValueError):
    """A step that cannot be replayed faithfully; run it eagerly instead."""


def _no_plan(*arrays: Any) -> Any:
    raise RuntimeError("compile: the step has not been traced yet")


class Plan:
    """A traced step on its way to a replay: the trace and what each stage decided.

    >>> plan = Plan(topological_order([loss]), arrays, traced)
    >>> build_plan(plan, optimizer)           # or the stages one by one
    """

    __slots__ = (
        "arena", "arrays", "backward", "bias_blocks", "columns", "extras", "fast", "folded",
        "forward", "grad_buffers", "grad_nodes", "guards", "has_grad", "input_major",
        "kernel_classes",
        "leaves", "needs", "nodes", "outputs", "run", "signature", "source", "specs",
        "traced", "users",
    )

    def __init__(self, nodes: list[Context], arrays: list[np.ndarray], traced: list[Tensor],
                 outputs: tuple = ()) -> None:
        # The trace: nodes in an order where each follows its inputs (the loss last), the
        # step's input arrays, the Tensors they were traced as, and extra outputs.
        self.nodes = nodes
        self.arrays = arrays
        self.traced = traced
        self.outputs = outputs
        self.signature: tuple = tuple([(a.shape, a.dtype) for a in arrays])
        # 1. resolve_sources
        self.specs: list[list[tuple[int, Any]]] = []  # per node, per argument
        self.leaves: list[Tensor] = []
        self.users: dict[int, list[int]] = {}  # node -> the nodes reading it, per argument
        self.extras: list[int] = []  # the nodes of the extra outputs
        # 2. mark_gradients
        self.needs: list[list[bool]] = []  # per node, per argument
        self.grad_nodes: list[bool] = []  # whether the node runs a backward
        self.has_grad: set[int] = set()  # ids of the leaves that get a gradient
        # 3. select_kernels
        self.kernel_classes: list[type] = []
        # 4. choose_layouts
        self.columns: list[bool] = [False] * len(nodes)
        self.input_major: set[int] = set()  # ids of weights stored transposed
        self.bias_blocks: dict[int, tuple[Tensor, Tensor]] = {}  # node -> (W, b) side by side
        # 5. pack_parameters
        self.arena: Arena | None = None
        self.folded: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # node -> [W | b], grad
        # 6. build_kernels, 7. build_routes, 8. allocate_grad_buffers
        self.forward: list[tuple[Any, list]] = []  # (kernel, specs) per node
        self.backward: list[tuple[int, Any, list]] = []  # (node, kernel, routes)
        self.grad_buffers: dict[int, np.ndarray] = {}  # leaf slot -> its .grad array
        # the replay (codegen.generate); guards: (object, attribute, value) that must
        # hold on every call (a module's mode, a buffer's array), else the step retraces
        self.guards: list[tuple[Any, str, Any]] = []
        self.run: Callable[..., Any] = _no_plan
        self.fast: Callable[..., Any] = _no_plan  # run(), or MISS for other inputs
        self.source = ""

    def values(self, i: int) -> list[Any]:
        """Node ``i``'s arguments as traced (parameters as their current arrays)."""
        return [self.nodes[p].out if kind == NODE else self.leaves[p].data if kind == LEAF
                else self.arrays[p] if kind == INPUT else p for kind, p in self.specs[i]]

    def producer(self, i: int, k: int = 0) -> Any:
        """The kernel computing node ``i``'s argument ``k``, or None (not a node's value)."""
        kind, p = self.specs[i][k]
        return self.forward[p][0] if kind == NODE else None

    def feeds_bias_row(self, i: int) -> bool:
        """Whether node ``i``'s only user is a product that folds its bias in (a
        ``[W | b]`` block) with it as input: then its value may be written above a row
        of ones, the augmented input ``[x^T ; 1]`` of that product."""
        users = self.users.get(i, [])
        return (len(users) == 1 and users[0] in self.folded
                and self.specs[users[0]][0] == (NODE, i))

    def constant_arrays(self) -> set[int]:
        """The ids of the arrays the nodes take as constants (e.g. running statistics)."""
        return {id(p) for specs in self.specs for kind, p in specs
                if kind == CONST and isinstance(p, np.ndarray)}

    def release_trace(self) -> None:
        """Drop the recorded graph and the traced arrays: the replay needs only kernels."""
        self.nodes, self.arrays, self.traced, self.outputs = [], [], [], ()


def resolve_sources(plan: Plan) -> None:
    """Where each argument of each node comes from on replay; collects the leaves.

    Integer inputs (labels) must reach an op unchanged, so a replay can substitute them;
    extra outputs must be nodes of the graph.
    """
    index = {node: i for i, node in enumerate(plan.nodes)}
    for e in plan.outputs:
        if not isinstance(e, Tensor) or e.grad_fn not in index:
            raise CompileError(
                "compile: extra outputs of the step must be Tensors computed on the way "
                "to the loss (e.g. the scores)"
            )
        plan.extras.append(index[e.grad_fn])
    input_ids = {id(t): k for k, t in enumerate(plan.traced)}
    input_data_ids = {id(a): k for k, a in enumerate(plan.arrays)}
    leaf_ids: dict[int, int] = {}
    reached = {k for k, a in enumerate(plan.arrays) if a.dtype.kind == "f"}
    for i, node in enumerate(plan.nodes):
        specs: list[tuple[int, Any]] = []
        for arg in node.inputs:
            if isinstance(arg, Tensor):
                if arg.grad_fn is not None:
                    specs.append((NODE, index[arg.grad_fn]))
                elif id(arg) in input_ids:
                    specs.append((INPUT, input_ids[id(arg)]))
                else:
                    if id(arg) not in leaf_ids:
                        leaf_ids[id(arg)] = len(plan.leaves)
                        plan.leaves.append(arg)
                    specs.append((LEAF, leaf_ids[id(arg)]))
            elif isinstance(arg, np.ndarray) and id(arg) in input_data_ids:
                k = input_data_ids[id(arg)]
                reached.add(k)
                specs.append((INPUT, k))
            else:
                specs.append((CONST, arg))
        for kind, p in specs:
            if kind == NODE:
                plan.users.setdefault(p, []).append(i)
        plan.specs.append(specs)
    missing = [k for k in range(len(plan.arrays)) if k not in reached]
    if missing:
        raise CompileError(
            f"compile: input {missing[0]} (integer labels) is transformed before it reaches "
            "an op; pass labels straight to the loss so a replay can substitute them"
        )


def mark_gradients(plan: Plan) -> None:
    """Which arguments need a gradient: a node's value that leads back to a parameter,
    or a leaf that requires one (the step's inputs never do); a node with any such
    argument runs a backward."""
    for specs in plan.specs:
        needs = [plan.grad_nodes[p] if kind == NODE
                 else kind == LEAF and plan.leaves[p].requires_grad for kind, p in specs]
        plan.needs.append(needs)
        plan.grad_nodes.append(any(needs))
        plan.has_grad.update(id(plan.leaves[p]) for (kind, p), need in zip(specs, needs)
                             if kind == LEAF and need)


def select_kernels(plan: Plan) -> None:
    """Each node's kernel class: the one its op names (``Function.kernel``), or that
    class's ``fallback``, if it accepts the node; else the generic replay."""
    for i, node in enumerate(plan.nodes):
        cls = kernel_class(node.fn)
        while cls is not None and not cls.accepts(plan, i):
            cls = cls.fallback
        plan.kernel_classes.append(cls if cls is not None else GenericKernel)


def choose_layouts(plan: Plan) -> None:
    """Let each kernel class record the layout its node wants (``Kernel.choose_layout``)."""
    for i, cls in enumerate(plan.kernel_classes):
        cls.choose_layout(plan, i)


def pack_parameters(plan: Plan, optimizer: Any, arena: Arena | None = None) -> None:
    """Pack the optimizer's parameters into one array per group (``plan.arena``).

    Packing needs every parameter of the optimizer to get a gradient from the step; an
    ``arena`` from an earlier plan is kept while it holds the same parameters (its
    layout then stays). Nodes whose weight and bias ended up side by side as one
    ``[W | b]`` block get it in ``plan.folded``.
    """
    groups = arena_groups(optimizer, plan.has_grad)
    if groups is None:
        arena = None
    elif arena is None or not arena.fits(groups):
        pairs = {id(w): b for w, b in plan.bias_blocks.values()}
        arena = Arena(groups, plan.input_major, pairs)
    plan.arena = arena
    if arena is not None:
        for i, (w, b) in plan.bias_blocks.items():
            block = arena.block(w, b)
            if block is not None:
                plan.folded[i] = block


def build_kernels(plan: Plan) -> None:
    """One kernel per node, in forward order (a kernel may read its producers')."""
    for i, cls in enumerate(plan.kernel_classes):
        plan.forward.append((cls(plan, i), plan.specs[i]))


def backward_order(plan: Plan) -> list[int]:
    """The nodes that run a backward, in the order they run it: reverse forward order,
    except that nodes reading only parameters and constants (a weight penalty) come
    last. Nothing waits for their gradients, so moving them is always valid, and the
    layers reading a parameter then write its gradient first, straight into its array,
    to which such a node adds its term."""
    order = [i for i in range(len(plan.nodes) - 1, -1, -1) if plan.grad_nodes[i]]
    late = [i for i in order if all(kind in (LEAF, CONST) for kind, _ in plan.specs[i])]
    return [i for i in order if i not in late] + late


def build_routes(plan: Plan) -> None:
    """Backward in :func:`backward_order`: each route says where a gradient goes and
    whether it is the first contribution there (assign) or a later one (add), as
    ``(argument, kind, payload, first, shape)``."""
    seen: set = set()
    for i in backward_order(plan):
        kernel, specs = plan.forward[i]
        routes = []
        for k, (kind, payload) in enumerate(specs):
            if not plan.needs[i][k]:
                continue
            shape = (plan.nodes[payload].out.shape if kind == NODE
                     else plan.leaves[payload].data.shape)
            key = (kind, payload)
            routes.append((k, kind, payload, key not in seen, shape))
            seen.add(key)
        plan.backward.append((i, kernel, routes))


def allocate_grad_buffers(plan: Plan) -> None:
    """Every parameter that gets a gradient gets one array for it, kept across steps (a
    view of the packed gradients when its parameters are packed)."""
    grads = plan.arena.grads if plan.arena is not None else {}
    for slot, leaf in enumerate(plan.leaves):
        if id(leaf) in plan.has_grad:
            grad = grads.get(id(leaf))
            plan.grad_buffers[slot] = grad if grad is not None else np.empty_like(leaf.data)


def build_plan(plan: Plan, optimizer: Any = None, arena: Arena | None = None) -> Plan:
    """Run the stages in order; the plan is then ready for ``codegen.generate``."""
    resolve_sources(plan)
    mark_gradients(plan)
    select_kernels(plan)
    choose_layouts(plan)
    pack_parameters(plan, optimizer, arena)
    build_kernels(plan)
    build_routes(plan)
    allocate_grad_buffers(plan)
    return plan
