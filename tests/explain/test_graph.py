"""The explainer's data: a Trace's nodes, wires and steps, found by name or id."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.explain import Trace, trace


def test_a_trace_finds_its_nodes_and_unpacks_its_steps() -> None:
    x = cr.tensor(2.0, dtype="float64", requires_grad=True)
    x.name = "x"
    tr = trace(x * x + x)
    assert isinstance(tr, Trace) and len(tr) == 3
    assert tr["x"] is tr[0] and tr["x"].kind == "input"
    assert [n.label for n in tr.gates] == ["*", "+"] and [n.name for n in tr.inputs] == ["x"]
    assert tr.grads() == {"x": 5.0}
    node, upstream, local, downstream = tr.steps[0]
    assert node.name == "out" and float(upstream) == 1.0 and len(local) == len(downstream) == 2
    assert [w.dst for w in tr.wires if w.src == tr["x"].id] == [1, 1, 2]
    assert repr(tr) == "<Trace: 2 gates, 1 inputs, 3 steps>"
    with pytest.raises(KeyError, match=r"no node named 'y' \(names: \['x', 'n1', 'out'\]\)"):
        tr["y"]
