"""Capture the graph behind a tensor and replay its backward pass, gate by gate.

The lecture draws every computation as a graph of gates. Forward, each gate turns its
input values into an output value; backward, each gate receives the *upstream*
gradient ``dL/d(out)``, multiplies it by its *local* gradient ``d(out)/d(in)`` and
sends the *downstream* gradient ``dL/d(in)`` to each input::

    downstream = local x upstream

:func:`trace` records exactly that for any graph built from chainrule ops (user-defined
:class:`chainrule.Function` subclasses included): it walks the nodes from the output's
``grad_fn`` (iteratively, so deep graphs work), then runs its own reverse pass with
each node's ``backward``, keeping every upstream, local and downstream gradient. The
user's ``.grad`` attributes stay untouched unless ``backward=True`` is asked for.

>>> import chainrule as cr
>>> from chainrule.explain import trace
>>> x = cr.tensor(-2.0, dtype="float64", requires_grad=True); x.name = "x"
>>> y = cr.tensor(5.0, dtype="float64", requires_grad=True); y.name = "y"
>>> z = cr.tensor(-4.0, dtype="float64", requires_grad=True); z.name = "z"
>>> t = trace((x + y) * z)
>>> float(t["x"].grad), float(t["z"].grad)
(-4.0, 3.0)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.autograd import Context, unbroadcast
from chainrule.errors import ChainruleError
from chainrule.tensor import Tensor

__all__ = [
    "ExplainError",
    "Step",
    "Trace",
    "TraceNode",
    "Wire",
    "format_array",
    "format_number",
    "steps",
    "trace",
]


class ExplainError(ChainruleError, ValueError):
    """The explainer cannot capture, parse or draw what it was given."""


# Ops whose backward is elementwise: calling it with an upstream of ones gives the
# local derivative of every element (the diagonal of the Jacobian, which is all of it).
_ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Abs", "Maximum",
    "Minimum", "Clip", "Where", "Cast", "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh",
}

# Ops whose non-Tensor arguments are operands (numbers in the formula, e.g. ``1 + x``)
# rather than parameters (``axis=``, ``keepdims=``).
_OPERAND_OPS = {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "MatMul", "Where"}

#: The lecture's gradient-flow patterns, by op.
PATTERNS: dict[str, str] = {
    "Add": "add gate: gradient distributor",
    "Mul": "mul gate: swap multiplier",
    "Maximum": "max gate: gradient router",
    "Minimum": "min gate: gradient router",
    "Max": "max gate: gradient router",
    "Min": "min gate: gradient router",
    "ReLU": "max(0, x) gate: gradient router",
    "Exp": "exp gate: output multiplier",
}
COPY_PATTERN = "copy gate: gradient adder"


@dataclass(eq=False)
class TraceNode:
    """One value of the graph: an input (leaf), a constant, or a gate's output.

    ``label`` is what the picture writes in the gate (its symbol, ``+1`` for a gate
    with a constant operand, ``1/x`` for a reciprocal); ``name`` names the value it
    produces (``x``, ``q``, ``f``). ``grad`` is the total ``dL/d(value)``, the sum over
    all the wires leaving this node (the copy gate).
    """

    id: int
    kind: str  # "input", "const" or "op"
    name: str
    label: str
    value: np.ndarray
    op: str | None = None
    fn: type | None = None
    inputs: list[int] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    requires_grad: bool = False
    grad: np.ndarray | None = None
    is_output: bool = False
    consumers: list[int] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def is_scalar(self) -> bool:
        return self.value.size == 1


@dataclass(eq=False)
class Wire:
    """An edge of the graph: ``src``'s value flowing into input ``slot`` of gate ``dst``.

    ``grad`` is the downstream gradient the gate ``dst`` sends back along this wire
    (``None`` where the source needs no gradient). ``dst`` is ``None`` for the wire that
    leaves an output of the graph; its ``grad`` is then the upstream given to the trace.
    """

    src: int
    dst: int | None
    slot: int
    grad: np.ndarray | None = None


@dataclass(eq=False)
class Step:
    """One step of the backward pass: ``downstream = local x upstream`` at one gate.

    ``local`` has one entry per input: an array (the local derivative, elementwise) or
    a string (the rule, e.g. ``"W^T @ upstream"``, where the local Jacobian is not
    elementwise). For a copy step (``kind == "copy"``) ``upstream`` is the list of
    gradients arriving along the copies and ``downstream`` their sum.
    """

    index: int
    kind: str  # "gate" or "copy"
    node: TraceNode
    upstream: Any
    local: list[Any]
    downstream: list[np.ndarray | None]
    pattern: str | None
    inputs: list[TraceNode]

    def __iter__(self) -> Iterator[Any]:
        """Unpack as the lecture writes it: ``node, upstream, local, downstream = step``."""
        return iter((self.node, self.upstream, self.local, self.downstream))


class Trace:
    """A captured graph with its forward values and backward gradients.

    ``nodes`` are in topological order (inputs first); ``wires`` join them;
    ``steps`` is the backward pass in execution order. ``trace["x"]`` finds a node by
    name.
    """

    def __init__(self, nodes: list[TraceNode], wires: list[Wire], outputs: list[int],
                 steps: list[Step], title: str | None = None) -> None:
        self.nodes = nodes
        self.wires = wires
        self.outputs = outputs
        self.steps = steps
        self.title = title
        self._by_id = {n.id: n for n in nodes}

    def node(self, key: int | str) -> TraceNode:
        """The node with this id or name."""
        if isinstance(key, int):
            return self._by_id[key]
        for n in self.nodes:
            if n.name == key:
                return n
        raise KeyError(f"trace: no node named {key!r} (names: {[n.name for n in self.nodes]})")

    __getitem__ = node

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def gates(self) -> list[TraceNode]:
        """The op nodes in forward (topological) order."""
        return [n for n in self.nodes if n.kind == "op"]

    @property
    def inputs(self) -> list[TraceNode]:
        return [n for n in self.nodes if n.kind == "input"]

    def grads(self) -> dict[str, np.ndarray | None]:
        """``{name: dL/d(input)}`` for every input of the graph."""
        return {n.name: n.grad for n in self.inputs}

    def forward_table(self, precision: int = 2) -> str:
        """The forward pass as text, one line per value."""
        rows = [("value", "computed as", "shape", "forward value")]
        for n in self.nodes:
            rows.append((n.name, describe(self, n), _shape_text(n.shape),
                         format_array(n.value, precision, 16)))
        return _table(rows)

    def backward_table(self, precision: int = 2) -> str:
        """The backward pass as text: one line per input of every step."""
        rows = [("step", "gate", "computes", "upstream", "input", "local", "downstream",
                 "pattern")]
        for s in self.steps:
            if s.kind == "copy":
                ups = " + ".join(format_array(u, precision) for u in s.upstream)
                rows.append((str(s.index), "copy", f"{s.node.name} used "
                             f"{len(s.upstream)} times", ups, s.node.name,
                             "1 each", format_array(s.downstream[0], precision),
                             s.pattern or ""))
                continue
            first = True
            for inp, loc, down in zip(s.inputs, s.local, s.downstream):
                rows.append((
                    str(s.index) if first else "",
                    s.node.label if first else "",
                    f"{s.node.name} = {describe(self, s.node)} = "
                    f"{format_array(s.node.value, precision)}" if first else "",
                    format_array(s.upstream, precision, 16) if first else "",
                    inp.name,
                    loc if isinstance(loc, str) else format_array(loc, precision, 16),
                    "-" if down is None else format_array(down, precision, 16),
                    (s.pattern or "") if first else "",
                ))
                first = False
        return _table(rows)

    def to_svg(self, **kwargs: Any) -> str:
        from chainrule.explain.svg import to_svg

        return to_svg(self, **kwargs)

    def to_html(self, **kwargs: Any) -> str:
        from chainrule.explain.html import to_html

        return to_html(self, **kwargs)

    def __repr__(self) -> str:
        return (f"<Trace: {len(self.gates)} gates, {len(self.inputs)} inputs, "
                f"{len(self.steps)} steps>")


def steps(tr: Trace) -> list[Step]:
    """The backward pass of a trace as ordered steps ``(node, upstream, local, downstream)``.

    >>> [s.pattern for s in steps(t)]          # doctest: +SKIP
    ['mul gate: swap multiplier', 'add gate: gradient distributor']
    """
    return tr.steps


# ----------------------------------------------------------------------------- capture
def _freed_error(node: Context) -> ExplainError:
    return ExplainError(
        f"trace: the graph was freed by backward() (at its {node.fn.__name__} node), so its "
        "saved values are gone; call trace(output) before output.backward(), or keep the graph "
        "with output.backward(retain_graph=True)"
    )


def _collect(roots: list[Context]) -> list[Context]:
    """Op nodes reachable from ``roots``, inputs before consumers (iterative DFS)."""
    order: list[Context] = []
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack: list[tuple[Context, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            inputs = node.inputs
            while i < len(inputs):
                t = inputs[i]
                i += 1
                parent = t.grad_fn if isinstance(t, Tensor) else None
                if parent is not None and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((node, i))
                    stack.append((parent, 0))
                    break
            else:
                order.append(node)
    return order


def _number(v: Any) -> float | None:
    """A Python/NumPy scalar constant as a float, else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "iuf":
        return float(v.reshape(()))
    return None


def _num_text(c: float) -> str:
    return str(int(c)) if c == int(c) and abs(c) < 1e15 else f"{c:g}"


def _gate_label(fn: type, tensor_slots: list[int], consts: dict[int, float]) -> str:
    """The symbol drawn in a gate, folding a scalar constant operand in (``+1``, ``*-1``)."""
    op = fn.__name__
    symbol = getattr(fn, "symbol", None) or op
    if op == "Neg":
        return "*-1"
    if len(tensor_slots) != 1 or len(consts) != 1:
        return symbol
    (slot, c), = consts.items()
    ct = _num_text(c)
    if op == "Add":
        return f"+{ct}" if c >= 0 else f"-{_num_text(-c)}"
    if op == "Mul":
        return f"*{ct}"
    if op == "Sub":
        return f"-{ct}" if slot == 1 else f"{ct}-x"
    if op == "Div":
        if slot == 0:
            return "1/x" if c == 1 else f"{ct}/x"
        return f"/{ct}"
    if op == "Pow" and slot == 1:
        return "1/x" if c == -1 else f"^{ct}"
    if op in ("Maximum", "Minimum"):
        return f"{symbol}({ct}, x)"
    return symbol


def trace(
    output: Tensor | Sequence[Tensor],
    upstream: Any = None,
    names: Mapping[str, Tensor] | None = None,
    backward: bool = False,
    title: str | None = None,
) -> Trace:
    """Capture the graph behind ``output`` with every forward value and gradient.

    ``upstream`` is ``dL/d(output)`` (one per output when several are given); it defaults
    to ones, i.e. 1 for a scalar output as in the lecture. ``names`` gives names to
    tensors (``{"W": W}``); otherwise ``Tensor.name`` is used, and unnamed values get
    ``x1, x2, ...`` (inputs) and ``n1, n2, ...`` (gates). The graph must not have been
    freed by ``backward()`` yet (or was kept with ``retain_graph=True``). With
    ``backward=True`` the real backward pass runs too, filling the leaves' ``.grad``.

    >>> t = trace(f)                                   # doctest: +SKIP
    >>> print(t.backward_table())                      # doctest: +SKIP
    """
    outs = [output] if isinstance(output, Tensor) else list(output)
    if not outs:
        raise ExplainError("trace: no output tensor given")
    for o in outs:
        if not isinstance(o, Tensor):
            raise ExplainError(f"trace: expected a chainrule Tensor, got {type(o).__name__}")
        if o.grad_fn is None:
            raise ExplainError(
                "trace: this tensor was not computed by any recorded op (it is a leaf, or was "
                "made under cr.no_grad() from inputs without requires_grad=True); "
                "create the inputs with requires_grad=True"
            )
    ups = _upstreams(outs, upstream)
    given_names = {id(t): n for n, t in (names or {}).items()}

    roots = [o.grad_fn for o in outs]
    order = _collect(roots)
    for ctx in order:
        if ctx.freed:
            raise _freed_error(ctx)

    nodes: list[TraceNode] = []
    wires: list[Wire] = []
    leaf_ids: dict[int, int] = {}
    ctx_ids: dict[int, int] = {}
    ctx_tensor_names: dict[int, str] = {}
    for o in outs:
        if o.name or id(o) in given_names:
            ctx_tensor_names[id(o.grad_fn)] = given_names.get(id(o)) or o.name or ""
    counters = {"input": 0, "op": 0, "const": 0}

    def new_node(**kw: Any) -> TraceNode:
        node = TraceNode(id=len(nodes), **kw)
        nodes.append(node)
        return node

    def leaf_node(t: Tensor) -> int:
        if id(t) in leaf_ids:
            return leaf_ids[id(t)]
        name = given_names.get(id(t)) or t.name
        if not name:
            counters["input"] += 1
            name = f"x{counters['input']}"
        node = new_node(kind="input", name=name, label=name, value=np.array(t.data, copy=True),
                        requires_grad=bool(t.requires_grad))
        leaf_ids[id(t)] = node.id
        return node.id

    # Names of intermediate tensors are only reachable through their consumers' inputs.
    for ctx in order:
        for t in ctx.inputs:
            if isinstance(t, Tensor) and t.grad_fn is not None:
                nm = given_names.get(id(t)) or t.name
                if nm:
                    ctx_tensor_names[id(t.grad_fn)] = nm

    for ctx in order:
        fn = ctx.fn
        in_ids: list[int] = []
        tensor_slots: list[int] = []
        consts: dict[int, float] = {}
        params: dict[str, Any] = {}
        for slot, a in enumerate(ctx.inputs):
            if isinstance(a, Tensor):
                tensor_slots.append(slot)
                if a.grad_fn is None:
                    in_ids.append(leaf_node(a))
                else:
                    in_ids.append(ctx_ids[id(a.grad_fn)])
            elif fn.__name__ in _OPERAND_OPS and a is not None:
                c = _number(a)
                if c is not None:
                    consts[slot] = c
                else:
                    counters["const"] += 1
                    arr = np.asarray(a)
                    cnode = new_node(kind="const", name=f"c{counters['const']}",
                                     label="const", value=np.array(arr, copy=True))
                    in_ids.append(cnode.id)
                    tensor_slots.append(slot)
            else:
                params[f"arg{slot}"] = a
        counters["op"] += 1
        name = ctx_tensor_names.get(id(ctx)) or f"n{counters['op']}"
        params = {**_named_params(ctx, params), **{f"c{k}": v for k, v in consts.items()}}
        node = new_node(
            kind="op", name=name, label=_gate_label(fn, tensor_slots, consts),
            value=np.array(ctx.out, copy=True), op=fn.__name__, fn=fn, inputs=in_ids,
            params=params, requires_grad=True,
        )
        node.params["_slots"] = tensor_slots
        ctx_ids[id(ctx)] = node.id
        for k, src in enumerate(in_ids):
            wires.append(Wire(src=src, dst=node.id, slot=k))
            nodes[src].consumers.append(node.id)

    out_ids = [ctx_ids[id(r)] for r in roots]
    for oid, up in zip(out_ids, ups):
        nodes[oid].is_output = True
        wires.append(Wire(src=oid, dst=None, slot=0, grad=up))
    if len(out_ids) == 1 and not ctx_tensor_names.get(id(roots[0])):
        nodes[out_ids[0]].name = "out"

    ctx_of = {ctx_ids[id(c)]: c for c in order}
    step_list = _reverse_pass(nodes, wires, ctx_of, out_ids, ups)
    result = Trace(nodes, wires, out_ids, step_list, title=title)
    if backward:
        from chainrule.autograd import backward as run_backward

        for o, up in zip(outs, ups):
            run_backward(o, up.astype(o.data.dtype), retain_graph=True)
    return result


def _named_params(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Readable names for the non-operand arguments of well-known ops."""
    op = ctx.fn.__name__
    names = {
        "Sum": ("axis", "keepdims"), "Mean": ("axis", "keepdims"), "Max": ("axis", "keepdims"),
        "Min": ("axis", "keepdims"), "LogSumExp": ("axis", "keepdims"),
        "Reshape": ("shape",), "Transpose": ("axes",), "Softmax": ("axis",),
        "LogSoftmax": ("axis",),
    }.get(op)
    if names is None:
        return params
    values = list(params.values())
    return dict(zip(names, values))


def _upstreams(outs: list[Tensor], upstream: Any) -> list[np.ndarray]:
    if upstream is None:
        return [np.ones(o.shape, dtype=np.float64) for o in outs]
    seq = list(upstream) if len(outs) > 1 else [upstream]
    if len(seq) != len(outs):
        raise ExplainError(f"trace: {len(outs)} outputs but {len(seq)} upstream gradients")
    result = []
    for o, u in zip(outs, seq):
        arr = np.asarray(u.data if isinstance(u, Tensor) else u, dtype=np.float64)
        if arr.shape != o.shape:
            if arr.size == o.data.size:
                arr = arr.reshape(o.shape)
            else:
                raise ExplainError(
                    f"trace: upstream gradient of shape {arr.shape} does not match the "
                    f"output's shape {o.shape}"
                )
        result.append(arr)
    return result


def _as_grad(g: Any, shape: tuple, dtype: np.dtype) -> np.ndarray:
    g = np.asarray(g.data if isinstance(g, Tensor) else g)
    if g.shape != shape:
        g = unbroadcast(g, shape)
        g = np.asarray(g)
    return g.astype(dtype, copy=False) if g.dtype != dtype else g


def _call_backward(ctx: Context, upstream: np.ndarray) -> tuple:
    if ctx.freed:
        raise _freed_error(ctx)
    try:
        down = ctx.fn.backward(ctx, upstream)
    except RuntimeError as e:
        if ctx.freed or "second time" in str(e):
            raise _freed_error(ctx) from None
        raise
    if type(down) is not tuple:
        down = tuple(down) if isinstance(down, list) else (down,)
    if len(down) != len(ctx.inputs):
        raise ExplainError(
            f"trace: {ctx.fn.__name__}.backward returned {len(down)} gradients for "
            f"{len(ctx.inputs)} inputs"
        )
    return down


def _reverse_pass(nodes: list[TraceNode], wires: list[Wire], ctx_of: dict[int, Context],
                  out_ids: list[int], ups: list[np.ndarray]) -> list[Step]:
    """Replay backward over the captured nodes, recording every gate's numbers."""
    arriving: dict[int, list[np.ndarray]] = {}
    for oid, up in zip(out_ids, ups):
        arriving.setdefault(oid, []).append(up.astype(nodes[oid].value.dtype, copy=False))
    wires_in: dict[int, list[Wire]] = {}
    for w in wires:
        if w.dst is not None:
            wires_in.setdefault(w.dst, []).append(w)
    pending = {n.id: len(n.consumers) for n in nodes}
    result: list[Step] = []

    def copy_step(node: TraceNode) -> None:
        grads = arriving.get(node.id, [])
        if not grads:
            return
        total = grads[0]
        for g in grads[1:]:
            total = total + g
        node.grad = total
        if len(grads) > 1:
            result.append(Step(index=len(result) + 1, kind="copy", node=node, upstream=grads,
                               local=[1.0] * len(grads), downstream=[total],
                               pattern=COPY_PATTERN, inputs=[node]))

    for node in reversed([n for n in nodes if n.kind == "op"]):
        copy_step(node)
        upstream = node.grad
        if upstream is None:  # no gradient reaches this gate (nothing downstream needs it)
            continue
        ctx = ctx_of[node.id]
        tensor_slots = node.params["_slots"]
        down_raw = _call_backward(ctx, upstream.copy())  # a backward may write into it
        ones_down = None
        elementwise = node.op in _ELEMENTWISE or (
            node.value.size == 1 and all(nodes[i].value.size == 1 for i in node.inputs))
        if elementwise:
            ones_down = _call_backward(ctx, np.ones_like(upstream))
        inputs = [nodes[i] for i in node.inputs]
        local: list[Any] = []
        downstream: list[np.ndarray | None] = []
        for k, (inp, w) in enumerate(zip(inputs, wires_in.get(node.id, []))):
            g = down_raw[tensor_slots[k]]
            if g is None or not inp.requires_grad:
                downstream.append(None)
                local.append("-" if g is None else _local_rule(node, k, inputs))
                continue
            g = _as_grad(g, inp.shape, inp.value.dtype)
            w.grad = g
            downstream.append(g)
            arriving.setdefault(inp.id, []).append(g)
            lg = ones_down[tensor_slots[k]] if ones_down is not None else None
            if lg is not None and np.shape(lg) == inp.shape:
                local.append(np.asarray(lg, dtype=inp.value.dtype))
            else:
                local.append(_local_rule(node, k, inputs))
        result.append(Step(index=len(result) + 1, kind="gate", node=node, upstream=upstream,
                           local=local, downstream=downstream,
                           pattern=PATTERNS.get(node.op or ""), inputs=inputs))
        for inp in inputs:
            if inp.kind != "op":
                pending[inp.id] -= 1
                if pending[inp.id] == 0:
                    copy_step(inp)
    return result


def _local_rule(node: TraceNode, k: int, inputs: list[TraceNode]) -> str:
    """The local gradient as a rule, where it is not an elementwise number."""
    op = node.op
    names = [i.name for i in inputs]
    other = names[1 - k] if len(names) == 2 else "x"
    if op == "MatMul":
        a, b = inputs
        if a.value.ndim == 1 and b.value.ndim == 1:
            return f"{other} (dot product)"
        if k == 0:
            if b.value.ndim == 1:
                return f"outer(upstream, {b.name})"
            return f"upstream @ {b.name}^T"
        if a.value.ndim == 1:
            return f"outer({a.name}, upstream)"
        return f"{a.name}^T @ upstream"
    if op == "Linear":
        return ["upstream @ W", "upstream^T @ x", "sum of upstream over rows"][min(k, 2)]
    if op == "Sum":
        return "1 (upstream copied to every element)"
    if op == "Mean":
        count = inputs[0].value.size // max(node.value.size, 1)
        return f"1/{count} (upstream / N copied to every element)"
    if op in ("Max", "Min"):
        return f"1 at the {op.lower()}, 0 elsewhere"
    if op == "CrossEntropy":
        return "softmax(s) - onehot(y) (/N for the mean)"
    if op == "MulticlassHinge":
        return "+1 per violating class, minus their count at the true class"
    if op in ("MSE", "L2"):
        return "pred - target, scaled"
    if op == "Softmax":
        return "s * (upstream - sum(upstream * s))"
    if op == "LogSoftmax":
        return "upstream - softmax * sum(upstream)"
    if op == "Reshape":
        return f"reshape back to {_shape_text(inputs[k].shape)}"
    if op == "Transpose":
        return "transpose back"
    if op == "BroadcastTo":
        return "sum over the broadcast axes"
    if op == "GetItem":
        return "scatter upstream into zeros"
    if op in ("Concatenate", "Stack"):
        return "slice of upstream"
    if op in _ELEMENTWISE:
        return "elementwise, summed over the broadcast axes"
    return f"{node.op}.backward(ctx, upstream)"


# ----------------------------------------------------------------------------- text
def format_number(v: float, precision: int = 2) -> str:
    """A number rounded to ``precision`` decimals, without ``-0.00``."""
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = f"{v:.{precision}f}"
    if float(text) == 0:
        text = f"{0.0:.{precision}f}"
    return text


def format_array(a: Any, precision: int = 2, max_items: int = 6) -> str:
    """A scalar as a number; a small array as nested lists; a large one by shape and range."""
    if a is None:
        return "-"
    arr = np.asarray(a)
    if arr.size == 1:
        return format_number(arr.reshape(()), precision)
    if arr.size <= max_items:
        return _nested(arr, precision)
    flat = arr.reshape(-1)
    head = ", ".join(format_number(v, precision) for v in flat[:3])
    return (f"{_shape_text(arr.shape)} [{head}, ...] min {format_number(flat.min(), precision)}"
            f" max {format_number(flat.max(), precision)}")


def _nested(arr: np.ndarray, precision: int) -> str:
    if arr.ndim == 0:
        return format_number(arr, precision)
    return "[" + ", ".join(_nested(x, precision) for x in arr) + "]"


def _shape_text(shape: tuple) -> str:
    if shape == ():
        return "scalar"
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def describe(tr: Trace, node: TraceNode) -> str:
    """How a value was computed, in words: ``x + y``, ``exp(n5)``, ``input``."""
    if node.kind == "input":
        return "input" if node.requires_grad else "input (no grad)"
    if node.kind == "const":
        return "constant"
    args = [tr.nodes[i].name for i in node.inputs]
    consts = {int(k[1:]): v for k, v in node.params.items()
              if k.startswith("c") and k[1:].isdigit()}
    slots = node.params.get("_slots", [])
    full: list[str] = []
    total = len(slots) + len(consts)
    it = iter(args)
    for slot in range(total):
        full.append(_num_text(consts[slot]) if slot in consts else next(it, "?"))
    op = node.op or ""
    infix = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**", "MatMul": "@"}
    if op in infix and len(full) == 2:
        return f"{full[0]} {infix[op]} {full[1]}"
    if op == "Neg":
        return f"-{full[0]}"
    symbol = getattr(node.fn, "symbol", None) or op
    return f"{symbol}({', '.join(full)})"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
