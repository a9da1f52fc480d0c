"""Marks for dead units and vanishing gradients (explain/flow.py)."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.explain import diagnose, example, trace


def leaf(value: object, name: str) -> cr.Tensor:
    t = cr.tensor(value, dtype="float64", requires_grad=True)
    t.name = name
    return t


def test_the_lecture_examples_have_no_marks() -> None:
    for name in ("simple", "sigmoid-neuron", "gates", "relu-vector", "matmul"):
        assert example(name).marks() == [], name


def test_a_relu_with_only_negative_inputs_is_dead() -> None:
    x = leaf([-1.0, -2.0, -0.5], "x")
    tr = trace(cr.relu(x).sum())
    (mark,) = diagnose(tr)
    assert mark.kind == "dead" and mark.node == tr.gates[0].id
    assert "no gradient passes" in mark.detail


def test_dead_units_in_a_batch_are_counted() -> None:
    h = leaf([[1.0, -1.0, 2.0], [3.0, -2.0, -1.0]], "h")   # unit 2 is 0 for both examples
    (mark,) = trace(cr.relu(h).sum()).marks()
    assert mark.kind == "dead" and "1 of 3 units are dead" in mark.detail


def test_a_saturated_sigmoid_is_where_the_gradient_vanishes() -> None:
    w, x = leaf(10.0, "w"), leaf(2.0, "x")
    tr = trace(cr.sigmoid(w * x))
    (mark,) = tr.marks()
    assert mark.kind == "vanishing" and "saturated" in mark.detail
    assert mark.node == tr.gates[-1].id


def test_a_gradient_that_shrinks_below_a_thousandth_is_marked_where_it_shrinks() -> None:
    x = leaf(1.0, "x")
    y = x * 1e-5                       # the mul gate sends back 1e-5 of what it receives
    tr = trace(y * 1.0 + 0.0)
    marks = tr.marks()
    assert [m.kind for m in marks] == ["vanishing"]
    assert marks[0].node == tr.gates[0].id and "sends back at most 1.0e-05" in marks[0].detail
    assert np.isclose(float(tr["x"].grad), 1e-5)


def test_marks_are_drawn_on_the_gates() -> None:
    x = leaf([-1.0, -2.0], "x")
    svg = trace(cr.relu(x).sum()).to_svg()
    assert 'class="gate mark-dead"' in svg and "dead: no gradient passes" in svg
    assert "mark-dead" not in trace(cr.relu(x).sum()).to_svg(marks=False)
