"""The lecture's gradient check, value by value: analytic ``dL/d(value)`` against numerical.

The lecture's advice is to derive the analytic gradient and check it with the numerical
one. :func:`gradient_check` does that for every value of a trace: it runs the graph's
gates again in float64 (their own ``forward`` and ``backward``, so a user's
``Function`` is checked too), nudges each value by ``h`` and watches the loss,
``L = sum(upstream * output)``:

    numerical dL/dv[i] = (L(v + h e_i) - L(v - h e_i)) / 2h       (method="central")
    numerical dL/dv[i] = (L(v + h e_i) - L(v)) / h                 (method="forward")

and compares with the analytic gradient by the lecture's relative error
``max |a - n| / max(floor, |a| + |n|)``. The lecture's floor is 1e-8; here it also grows
with the rounding noise of the differences, ``1e4 * 4 eps (1 + |L|) / h``, so a gradient
too small to be measured by differences (a saturated tanh) is compared on that absolute
scale instead of failing for noise. The verdicts follow the usual rule of thumb:
below 1e-4 the gradient is right (``ok``), from 1e-2 it is ``wrong``, in between it is
``doubtful`` (often a kink such as ReLU at 0). Large tensors are checked on a seeded
sample of ``max_elements`` elements.

>>> from chainrule.explain import example
>>> checks = example("simple").gradient_check()
>>> [(c.node.name, c.verdict) for c in checks.values()]
[('x', 'ok'), ('y', 'ok'), ('n1', 'ok'), ('z', 'ok'), ('f', 'ok')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.autograd import unbroadcast
from chainrule.explain.graph import ExplainError, Trace, TraceNode
from chainrule.explain.text import format_array
from chainrule.function import Context, as_gradient_tuple

__all__ = ["DOUBTFUL_FROM", "WRONG_FROM", "NodeCheck", "gradient_check"]

#: Relative errors from here on make a check ``doubtful`` ...
DOUBTFUL_FROM = 1e-4
#: ... and from here on ``wrong``.
WRONG_FROM = 1e-2
_SYMBOLS = {"ok": "\u2713", "doubtful": "?", "wrong": "\u2717", "skipped": "-"}


@dataclass
class NodeCheck:
    """The gradient check of one value: analytic and numerical ``dL/d(value)``.

    ``elements`` are the flat indices checked (all of them up to ``max_elements``);
    ``analytic`` (the gates' backward, in float64) and ``numerical`` hold the gradient
    at those elements; ``verdict`` is ``ok``, ``doubtful``, ``wrong`` or ``skipped``
    (then ``reason`` says why).
    """

    node: TraceNode
    elements: np.ndarray
    analytic: np.ndarray
    numerical: np.ndarray
    rel_error: float
    verdict: str
    reason: str = ""

    @property
    def symbol(self) -> str:
        """A one-character verdict: a tick, ``?``, a cross, or ``-`` when skipped."""
        return _SYMBOLS[self.verdict]

    @property
    def size(self) -> int:
        return int(self.node.value.size)

    def short(self) -> str:
        """What the drawing writes under the gradient: ``num ✓ 3e-11``."""
        if self.verdict == "skipped":
            return "num -"
        return f"num {self.symbol} {self.rel_error:.0e}"

    def text(self, precision: int = 2) -> str:
        """One line: analytic against numerical, the relative error and the verdict."""
        name = self.node.name
        if self.verdict == "skipped":
            return f"gradient check of dL/d{name}: skipped ({self.reason})"
        what = (f" ({len(self.elements)} of {self.size} elements)"
                if len(self.elements) < self.size else "")
        numbers = ""
        if self.size <= 4:  # a few numbers are worth writing out; more are in the panel
            shape = self.node.value.shape
            numbers = (f" analytic {format_array(self.analytic.reshape(shape), precision)}, "
                       f"numerical {format_array(self.numerical.reshape(shape), precision)},")
        return (f"gradient check of dL/d{name}{what}:{numbers} relative error "
                f"{self.rel_error:.1e} {self.symbol} {self.verdict}")


def gradient_check(tr: Trace, h: float = 1e-5, method: str = "central", max_elements: int = 16,
                   seed: int = 0) -> dict[int, NodeCheck]:
    """Check ``dL/d(value)`` of every input and gate of ``tr`` numerically; by node id.

    Constants and values that get no gradient are left out. A graph whose forward pass
    does not give the same values again (a random op such as dropout) cannot be checked
    by differences: the values it feeds are ``skipped``.
    """
    if method not in ("central", "forward"):
        raise ExplainError(f"gradient_check: method must be 'central' or 'forward', "
                           f"not {method!r}")
    if h <= 0:
        raise ExplainError(f"gradient_check: h must be > 0, got {h}")
    replay = _Replay(tr)
    checked = [n for n in tr.nodes if n.kind != "const" and n.grad is not None]
    results: dict[int, NodeCheck] = {}
    for node in checked:
        problem = replay.problem(node)
        if problem:
            results[node.id] = _skipped(node, problem)
            continue
        elements = _elements(node.value.size, max_elements, seed)
        analytic = replay.analytic(node.id).reshape(-1)[elements]
        numerical = np.array([replay.numerical(node, int(i), h, method) for i in elements])
        error = replay.rel_error(analytic, numerical, h) if len(elements) else 0.0
        verdict = "ok" if error < DOUBTFUL_FROM else "doubtful" if error < WRONG_FROM else "wrong"
        results[node.id] = NodeCheck(node, elements, analytic, numerical, error, verdict)
    return results


def _skipped(node: TraceNode, reason: str) -> NodeCheck:
    empty = np.zeros(0)
    return NodeCheck(node, empty.astype(int), empty, empty, float("nan"), "skipped", reason)


def _elements(size: int, most: int, seed: int) -> np.ndarray:
    if size <= most:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, most, replace=False))


def _float64(a: Any) -> Any:
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return a.astype(np.float64)
    return a


class _Replay:
    """The trace's gates run again in float64: base values, contexts, analytic gradients."""

    def __init__(self, tr: Trace) -> None:
        self.tr = tr
        self.gates = tr.gates
        self.seeds = {w.src: np.asarray(w.grad, dtype=np.float64)
                      for w in tr.wires if w.dst is None}
        self.values: dict[int, Any] = {n.id: _float64(n.value) for n in tr.nodes
                                       if n.kind != "op"}
        self.contexts: dict[int, Context] = {}
        self.failed = ""
        self.unstable: set[int] = set()
        try:
            for n in self.gates:
                out, self.contexts[n.id] = self._run(n, self.values)
                if not np.allclose(out, n.value, rtol=1e-4, atol=1e-6 * (1 + np.abs(out).max(
                        initial=0.0))):
                    self.unstable.add(n.id)
                self.values[n.id] = out
            self.grads = self._backward()
        except Exception as e:  # a user's op that cannot run again outside its graph
            self.failed = f"running the gates again failed: {type(e).__name__}: {e}"
            self.grads = {}
        self.affected = self._descendants()

    def _run(self, n: TraceNode, values: dict[int, Any]) -> tuple[np.ndarray, Context]:
        args = [_float64(a) for a in n.args]
        slots = n.params["_slots"]
        needs = [False] * len(args)
        for k, slot in enumerate(slots):
            args[slot] = values[n.inputs[k]]
            needs[slot] = self.tr.nodes[n.inputs[k]].requires_grad
        ctx = Context()
        ctx.fn = n.fn
        ctx.needs_input_grad = needs
        return np.asarray(n.fn.forward(ctx, *args)), ctx

    def _backward(self) -> dict[int, np.ndarray]:
        grads = dict(self.seeds)
        for n in reversed(self.gates):
            if n.id not in grads:
                continue
            down = as_gradient_tuple(n.fn.backward(self.contexts[n.id], grads[n.id]))
            for k, slot in enumerate(n.params["_slots"]):
                g = down[slot] if slot < len(down) else None
                if g is None:
                    continue
                src = n.inputs[k]
                g = unbroadcast(np.asarray(g, dtype=np.float64), self.tr.nodes[src].value.shape)
                grads[src] = grads[src] + g if src in grads else g
        return grads

    def _descendants(self) -> dict[int, list[TraceNode]]:
        """For every node, the gates that depend on it, in topological order."""
        affected: dict[int, set[int]] = {}
        for n in reversed(self.tr.nodes):
            below = set()
            for c in n.consumers:
                below.add(c)
                below |= affected[c]
            affected[n.id] = below
        return {nid: [g for g in self.gates if g.id in ids] for nid, ids in affected.items()}

    def problem(self, node: TraceNode) -> str:
        """Why ``node`` cannot be checked, or ``""``."""
        if self.failed:
            return self.failed
        if node.id not in self.grads:
            return "no analytic gradient reaches it"
        moved = [g for g in [node, *self.affected[node.id]] if g.id in self.unstable]
        if moved:
            return (f"the forward pass of {moved[0].name} ({moved[0].op}) gives other values "
                    "each time (a random op?)")
        return ""

    def analytic(self, node_id: int) -> np.ndarray:
        return self.grads[node_id]

    def rel_error(self, analytic: np.ndarray, numerical: np.ndarray, h: float) -> float:
        """The lecture's relative error, its floor raised to the differences' rounding noise."""
        noise = 4 * np.finfo(np.float64).eps * (1 + abs(self.loss(self.values))) / h
        floor = max(1e-8, 1e4 * noise)
        return float(np.max(np.abs(analytic - numerical)
                            / np.maximum(floor, np.abs(analytic) + np.abs(numerical))))

    def loss(self, values: dict[int, Any]) -> float:
        return float(sum((seed * values[o]).sum() for o, seed in self.seeds.items()))

    def numerical(self, node: TraceNode, i: int, h: float, method: str) -> float:
        """``dL/dv[i]`` by differences, re-running only the gates below ``node``."""
        base = self.values[node.id]
        gates = self.affected[node.id]

        def loss_at(delta: float) -> float:
            values = dict(self.values)
            moved = np.array(base, dtype=np.float64, copy=True)
            moved.reshape(-1)[i] += delta
            values[node.id] = moved
            for g in gates:
                values[g.id] = self._run(g, values)[0]
            return self.loss(values)

        if method == "forward":
            return (loss_at(h) - self.loss(self.values)) / h
        return (loss_at(h) - loss_at(-h)) / (2 * h)

