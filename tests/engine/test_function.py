"""Function's self-description: defaults for any op, and what the built-in gates say."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.function import as_gradient_tuple
from chainrule.ops import activation, arithmetic, elementwise, linalg, loss, reduce, shape
from chainrule.ops._common import number_text, shape_text


class Plain(cr.Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, upstream):
        return upstream


def test_defaults_fit_any_op() -> None:
    assert Plain.gate_label({}) == "Plain" and Plain.gate_label({1: 2.0}) == "Plain"
    assert Plain.formula(["x", "2"]) == "Plain(x, 2)"
    assert Plain.local_rule(0, [], None) == "Plain.backward(ctx, upstream)"
    assert (Plain.elementwise, Plain.infix, Plain.pattern) == (False, False, None)
    assert (Plain.operands, Plain.parameters) == ((), ())
    assert not Plain.differentiable_backward and not Plain.fresh_gradients


@pytest.mark.parametrize(("fn", "constants", "label"), [
    (arithmetic.Add, {}, "+"), (arithmetic.Add, {1: 1.0}, "+1"),
    (arithmetic.Add, {0: -2.5}, "-2.5"),
    (arithmetic.Sub, {1: 2.0}, "-2"), (arithmetic.Sub, {0: 1.0}, "1-x"),
    (arithmetic.Mul, {1: -1.0}, "*-1"), (arithmetic.Neg, {}, "*-1"),
    (arithmetic.Div, {0: 1.0}, "1/x"), (arithmetic.Div, {0: 3.0}, "3/x"),
    (arithmetic.Div, {1: 4.0}, "/4"),
    (arithmetic.Pow, {1: 2.0}, "^2"), (arithmetic.Pow, {1: -1.0}, "1/x"),
    (arithmetic.Pow, {0: 2.0}, "**"),
    (elementwise.Maximum, {1: 0.0}, "max(0, x)"), (elementwise.Minimum, {0: 3.0}, "min(3, x)"),
    (elementwise.Exp, {}, "exp"), (linalg.MatMul, {}, "@"),
])
def test_built_in_gate_labels_fold_a_constant(fn: type, constants: dict, label: str) -> None:
    assert fn.gate_label(constants) == label


def test_built_in_formulas() -> None:
    assert arithmetic.Add.formula(["x", "y"]) == "x + y"
    assert arithmetic.Pow.formula(["q", "2"]) == "q ** 2"
    assert linalg.MatMul.formula(["W", "x"]) == "W @ x"
    assert arithmetic.Neg.formula(["x"]) == "-x"
    assert elementwise.Exp.formula(["n5"]) == "exp(n5)"
    assert loss.CrossEntropy.formula(["scores"]) == "softmax loss(scores)"


def test_built_ins_say_what_the_lecture_says_about_them() -> None:
    assert arithmetic.Add.pattern == "add gate: gradient distributor"
    assert arithmetic.Mul.pattern == "mul gate: swap multiplier"
    assert elementwise.Exp.pattern == "exp gate: output multiplier"
    assert activation.ReLU.pattern == "max(0, x) gate: gradient router"
    assert reduce.Max.pattern == elementwise.Maximum.pattern == "max gate: gradient router"
    assert reduce.Sum.parameters == ("axis", "keepdims")
    assert loss.CrossEntropy.parameters == ("labels", "reduction")
    assert arithmetic.Sub.elementwise and not linalg.MatMul.elementwise
    assert shape.Concatenate.local_rule(0, [], None) == "slice of upstream"


def test_every_built_in_op_declares_fresh_gradients() -> None:
    ops = [c for m in (activation, arithmetic, elementwise, linalg, loss, reduce, shape)
           for c in vars(m).values()
           if isinstance(c, type) and issubclass(c, cr.Function) and c.__module__ == m.__name__
           and not c.__name__.startswith("_")]
    assert len(ops) > 30
    assert all(op.fresh_gradients and op.differentiable_backward for op in ops)


def test_backward_results_become_one_gradient_per_input() -> None:
    g = np.ones(2)
    assert as_gradient_tuple(g) == (g,)
    assert as_gradient_tuple([g, None]) == (g, None)
    t = (None, g)
    assert as_gradient_tuple(t) is t


def test_numbers_and_shapes_are_written_as_the_explainer_writes_them() -> None:
    assert [number_text(c) for c in (2.0, -1.0, 0.5, 1e20, float("inf"))] == \
        ["2", "-1", "0.5", "1e+20", "inf"]
    assert [shape_text(s) for s in ((), (3,), (2, 3))] == ["scalar", "(3,)", "(2, 3)"]
