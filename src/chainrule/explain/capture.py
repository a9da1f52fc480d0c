"""Capture the graph behind a tensor and replay its backward pass, gate by gate.

The lecture draws every computation as a graph of gates. Forward, each gate turns its
input values into an output value; backward, each gate receives the *upstream*
gradient ``dL/d(out)``, multiplies it by its *local* gradient ``d(out)/d(in)`` and
sends the *downstream* gradient ``dL/d(in)`` to each input::

    downstream = local x upstream

:func:`trace` records exactly that for any graph built from chainrule ops (user-defined
:class:`chainrule.Function` subclasses included): it copies every value of the graph,
then runs the engine's own backward walk (:func:`chainrule.autograd.backward_pass`,
keeping the graph) with an observer that keeps every upstream, local and downstream
gradient. What each gate is called and how it is drawn comes from its Function's
description (``symbol``, ``pattern``, ``operands``...). The user's ``.grad`` attributes
stay untouched unless ``backward=True`` is asked for.

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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.autograd import (
    Context,
    as_gradient_tuple,
    backward_pass,
    topological_order,
)
from chainrule.autograd import backward as run_backward
from chainrule.errors import GraphFreedError
from chainrule.explain.graph import ExplainError, Step, Trace, TraceNode, Wire

__all__ = ["COPY_PATTERN", "steps", "trace"]

#: The lecture's name for what happens where a value is used more than once.
COPY_PATTERN = "copy gate: gradient adder"


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
    graph = _Capture(outs, ups, names or {})
    replay = _Replay(graph)
    seeds = [up.astype(o.data.dtype, copy=False) for o, up in zip(outs, ups)]
    try:
        leaf_grads = backward_pass(outs, seeds, retain_graph=True, collect=True,
                                   observer=replay.observe)
    except GraphFreedError as e:
        raise ExplainError(f"trace: {e} (call trace(output) before output.backward())") from None
    replay.finish(leaf_grads)
    result = Trace(graph.nodes, graph.wires, graph.out_ids, replay.steps, title=title)
    if backward:
        for o, up in zip(outs, ups):
            run_backward(o, up.astype(o.data.dtype), retain_graph=True)
    return result


def steps(tr: Trace) -> list[Step]:
    """The backward pass of a trace as ordered steps ``(node, upstream, local, downstream)``.

    >>> [s.pattern for s in steps(t)]          # doctest: +SKIP
    ['mul gate: swap multiplier', 'add gate: gradient distributor']
    """
    return tr.steps


class _Capture:
    """The values of the graph behind ``outs`` as trace nodes and wires, inputs first."""

    def __init__(self, outs: list[Tensor], ups: list[np.ndarray],
                 names: Mapping[str, Tensor]) -> None:
        self.nodes: list[TraceNode] = []
        self.wires: list[Wire] = []
        self.given = {id(t): n for n, t in names.items()}
        self.leaf_ids: dict[int, int] = {}  # id(tensor) -> node id
        self.ctx_ids: dict[int, int] = {}  # id(ctx) -> node id
        self.counters = {"input": 0, "op": 0, "const": 0}
        roots = [o.grad_fn for o in outs]
        self.order = topological_order(roots)
        # Names of intermediate tensors are only reachable through their consumers' inputs.
        self.ctx_names: dict[int, str] = {}
        for o in outs:
            if o.name or id(o) in self.given:
                self.ctx_names[id(o.grad_fn)] = self.given.get(id(o)) or o.name or ""
        for ctx in self.order:
            for t in ctx.inputs:
                if isinstance(t, Tensor) and t.grad_fn is not None:
                    name = self.given.get(id(t)) or t.name
                    if name:
                        self.ctx_names[id(t.grad_fn)] = name
        for ctx in self.order:
            self._gate(ctx)
        self.out_ids = [self.ctx_ids[id(r)] for r in roots]
        for oid, up in zip(self.out_ids, ups):
            self.nodes[oid].is_output = True
            self.wires.append(Wire(src=oid, dst=None, slot=0, grad=up))
        if len(self.out_ids) == 1 and not self.ctx_names.get(id(roots[0])):
            self.nodes[self.out_ids[0]].name = "out"

    def _new(self, **kw: Any) -> TraceNode:
        node = TraceNode(id=len(self.nodes), **kw)
        self.nodes.append(node)
        return node

    def _leaf(self, t: Tensor) -> int:
        if id(t) in self.leaf_ids:
            return self.leaf_ids[id(t)]
        name = self.given.get(id(t)) or t.name
        if not name:
            self.counters["input"] += 1
            name = f"x{self.counters['input']}"
        node = self._new(kind="input", name=name, label=name,
                         value=np.array(t.data, copy=True), requires_grad=bool(t.requires_grad))
        self.leaf_ids[id(t)] = node.id
        return node.id

    def _gate(self, ctx: Context) -> None:
        """One gate: its inputs (leaves, constants, earlier gates), label and parameters."""
        fn = ctx.fn
        names = fn.operands + fn.parameters
        in_ids: list[int] = []
        slots: list[int] = []  # positions of forward's arguments drawn as wires
        consts: dict[int, float] = {}  # positions of numbers folded into the label
        params: dict[str, Any] = {}
        for slot, a in enumerate(ctx.inputs):
            if isinstance(a, Tensor):
                slots.append(slot)
                in_ids.append(self._leaf(a) if a.grad_fn is None else self.ctx_ids[id(a.grad_fn)])
            elif slot < len(fn.operands) and a is not None:
                c = _number(a)
                if c is not None:
                    consts[slot] = c
                else:
                    self.counters["const"] += 1
                    cnode = self._new(kind="const", name=f"c{self.counters['const']}",
                                      label="const", value=np.array(a, copy=True))
                    in_ids.append(cnode.id)
                    slots.append(slot)
            else:
                params[names[slot] if slot < len(names) else f"arg{slot}"] = a
        self.counters["op"] += 1
        name = self.ctx_names.get(id(ctx)) or f"n{self.counters['op']}"
        params.update({f"c{k}": v for k, v in consts.items()})
        params["_slots"] = slots
        wired = set(slots)
        args = tuple(None if slot in wired else a for slot, a in enumerate(ctx.inputs))
        node = self._new(kind="op", name=name, label=fn.gate_label(consts),
                         value=np.array(ctx.out, copy=True), op=fn.__name__, fn=fn,
                         inputs=in_ids, params=params, requires_grad=True, args=args)
        self.ctx_ids[id(ctx)] = node.id
        for k, src in enumerate(in_ids):
            self.wires.append(Wire(src=src, dst=node.id, slot=k))
            self.nodes[src].consumers.append(node.id)


class _Replay:
    """The engine walk's observer: records each gate's step and the copy gates' sums."""

    def __init__(self, graph: _Capture) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        self.steps: list[Step] = []
        self.arriving: dict[int, list[np.ndarray]] = {}  # node id -> gradients, in order
        self.wires_in: dict[int, list[Wire]] = {}
        for w in graph.wires:
            if w.dst is None:  # an output: its upstream is the first gradient to arrive
                grads = self.arriving.setdefault(w.src, [])
                grads.append(w.grad.astype(self.nodes[w.src].value.dtype, copy=False))
            else:
                self.wires_in.setdefault(w.dst, []).append(w)
        self.pending = {n.id: len(n.consumers) for n in self.nodes}
        self.leaf_copies: list[Step] = []  # their sums come from the engine when it is done

    def observe(self, ctx: Context, upstream: Any, downstream: tuple, sent: list) -> None:
        node = self.nodes[self.graph.ctx_ids[id(ctx)]]
        upstream = np.asarray(upstream)
        node.grad = upstream
        self._copy_step(node, upstream)
        fn = ctx.fn
        slots = node.params["_slots"]
        inputs = [self.nodes[i] for i in node.inputs]
        ones = None
        if fn.elementwise or (node.value.size == 1 and all(i.value.size == 1 for i in inputs)):
            ones = as_gradient_tuple(fn.backward(ctx, np.ones_like(upstream)))
        local: list[Any] = []
        down: list[np.ndarray | None] = []
        for k, (inp, w) in enumerate(zip(inputs, self.wires_in.get(node.id, []))):
            slot = slots[k]
            if sent[slot] is None:  # nothing sent: no gradient, or the input needs none
                down.append(None)
                local.append("-" if downstream[slot] is None else fn.local_rule(k, inputs, node))
                continue
            g = np.asarray(sent[slot])
            w.grad = g
            down.append(g)
            self.arriving.setdefault(inp.id, []).append(g)
            lg = ones[slot] if ones is not None else None
            if lg is not None and np.shape(lg) == inp.shape:
                local.append(np.asarray(lg, dtype=inp.value.dtype))
            else:
                local.append(fn.local_rule(k, inputs, node))
        self.steps.append(Step(index=len(self.steps) + 1, kind="gate", node=node,
                               upstream=upstream, local=local, downstream=down,
                               pattern=fn.pattern, inputs=inputs))
        for inp in inputs:
            if inp.kind != "op":
                self.pending[inp.id] -= 1
                if self.pending[inp.id] == 0:
                    self._copy_step(inp, None)

    def _copy_step(self, node: TraceNode, total: np.ndarray | None) -> None:
        """Where several gradients arrive at one value, the copy gate adds them."""
        grads = self.arriving.get(node.id, [])
        if len(grads) < 2:
            return
        step = Step(index=len(self.steps) + 1, kind="copy", node=node, upstream=grads,
                    local=[1.0] * len(grads), downstream=[total], pattern=COPY_PATTERN,
                    inputs=[node])
        self.steps.append(step)
        if total is None:
            self.leaf_copies.append(step)

    def finish(self, leaf_grads: Mapping[int, Any]) -> None:
        """Give every input its total gradient, as the engine summed it."""
        for tensor_id, node_id in self.graph.leaf_ids.items():
            if tensor_id in leaf_grads:
                self.nodes[node_id].grad = np.asarray(leaf_grads[tensor_id])
        for step in self.leaf_copies:
            step.downstream = [step.node.grad]


def _number(v: Any) -> float | None:
    """A Python/NumPy scalar constant as a float, else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "iuf":
        return float(v.reshape(()))
    return None


def _upstreams(outs: list[Tensor], upstream: Any) -> list[np.ndarray]:
    """``dL/d(output)`` per output as float64 arrays: ones by default, reshaped if needed."""
    if upstream is None:
        return [np.ones(o.shape, dtype=np.float64) for o in outs]
    seq = list(upstream) if len(outs) > 1 else [upstream]
    if len(seq) != len(outs):
        raise ExplainError(f"trace: {len(outs)} outputs but {len(seq)} upstream gradients")
    result = []
    for o, u in zip(outs, seq):
        arr = np.asarray(u.data if isinstance(u, Tensor) else u, dtype=np.float64)
        if arr.size != o.data.size:  # the same numbers in another shape are taken
            raise ExplainError(f"trace: upstream gradient of shape {arr.shape} does not "
                               f"match the output's shape {o.shape}")
        result.append(arr.reshape(o.shape))
    return result
