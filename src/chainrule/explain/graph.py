"""What the explainer captures: the values of a graph, its wires, and the backward steps.

A :class:`Trace` holds every value of a computation (:class:`TraceNode`: an input, a
constant or a gate's output), the :class:`Wire` s that join them with the gradient each
carries back, and the backward pass as :class:`Step` s. :func:`chainrule.explain.trace`
builds one; the text tables, :func:`~chainrule.explain.to_svg` and
:func:`~chainrule.explain.to_html` read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain import text

__all__ = ["ExplainError", "Step", "Trace", "TraceNode", "Wire"]


class ExplainError(ChainruleError, ValueError):
    """The explainer cannot capture, parse or draw what it was given."""


@dataclass(eq=False)
class TraceNode:
    """One value of the graph: an input (leaf), a constant, or a gate's output.

    ``label`` is what the picture writes in the gate (its symbol, ``+1`` for a gate
    with a constant operand, ``1/x`` for a reciprocal); ``name`` names the value it
    produces (``x``, ``q``, ``f``). ``grad`` is the total ``dL/d(value)``, the sum over
    all the wires leaving this node (the copy gate). ``fn`` is the gate's Function and
    ``args`` the arguments its ``forward`` was called with, ``None`` where an input wire
    brings the value (so the gate can be run again, e.g. by the gradient check).
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
    args: tuple = ()

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

    #: How :meth:`to_svg`, :meth:`to_html` and a notebook (``inline``) draw a trace, by
    #: format. The renderers import this module, so :mod:`chainrule.explain` registers
    #: them here, and the analyses behind :meth:`gradient_check` and :meth:`marks` too.
    renderers: ClassVar[dict[str, Callable[..., str]]] = {}
    analyses: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init__(self, nodes: list[TraceNode], wires: list[Wire], outputs: list[int],
                 steps: list[Step], title: str | None = None) -> None:
        self.nodes = nodes
        self.wires = wires
        self.outputs = outputs
        self.steps = steps
        self.title = title
        self._by_id = {n.id: n for n in nodes}
        self._checks: tuple[tuple, dict] | None = None

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
        return text.forward_table(self, precision)

    def backward_table(self, precision: int = 2) -> str:
        """The backward pass as text: one line per input of every step."""
        return text.backward_table(self, precision)

    def gradient_check(self, h: float = 1e-5, method: str = "central", max_elements: int = 16,
                       seed: int = 0) -> dict[int, Any]:
        """Analytic against numerical ``dL/d(value)`` for every value, by node id (cached).

        See :func:`chainrule.explain.check.gradient_check`.
        """
        key = (h, method, max_elements, seed)
        if self._checks is None or self._checks[0] != key:
            self._checks = (key, self.analyses["gradient_check"](self, h, method, max_elements,
                                                                   seed))
        return self._checks[1]

    def marks(self) -> list[Any]:
        """Dead units and vanishing gradients (see :func:`chainrule.explain.flow.diagnose`)."""
        return self.analyses["marks"](self)

    def to_svg(self, **kwargs: Any) -> str:
        """The trace drawn as the lecture draws it (see :func:`chainrule.explain.to_svg`)."""
        return self.renderers["svg"](self, **kwargs)

    def to_html(self, **kwargs: Any) -> str:
        """A page that steps through the trace (see :func:`chainrule.explain.to_html`)."""
        return self.renderers["html"](self, **kwargs)

    def _repr_svg_(self) -> str:
        """Jupyter shows the drawing inline (no Graphviz needed)."""
        return self.to_svg()

    def _repr_html_(self) -> str:
        """Jupyter shows the stepper inline: self-contained, nothing loaded from outside."""
        return self.renderers["inline"](self)

    def __repr__(self) -> str:
        return (f"<Trace: {len(self.gates)} gates, {len(self.inputs)} inputs, "
                f"{len(self.steps)} steps>")
