"""The numeric gradient check of every value of a trace (explain/check.py)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import ExplainError, evaluate, example, trace
from chainrule.explain.check import gradient_check


class WrongSquare(cr.Function):
    """x^2 with a wrong local gradient (x instead of 2x): the check must catch it."""

    symbol = "sq"
    elementwise = True
    operands = ("x",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, upstream):
        (x,) = ctx.saved_tensors
        return upstream * x


@pytest.mark.parametrize("name", ["simple", "sigmoid-neuron", "gates", "matmul",
                                  "vectorized-norm"])
def test_every_lecture_example_passes_its_gradient_check(name: str) -> None:
    tr = example(name)
    checks = tr.gradient_check()
    assert checks, name
    for c in checks.values():
        assert c.verdict == "ok", c.text()
        assert c.rel_error < 1e-7
        np.testing.assert_allclose(c.analytic, np.asarray(c.node.grad).reshape(-1)[c.elements],
                                   rtol=1e-9, atol=1e-12)


def test_a_wrong_backward_is_caught_where_it_is() -> None:
    x = cr.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    x.name = "x"
    tr = trace((WrongSquare.apply(x) * 3.0).sum())
    checks = {c.node.name: c for c in tr.gradient_check().values()}
    assert checks["x"].verdict == "wrong"          # the error enters at the gate's input
    assert checks["x"].rel_error == pytest.approx(1 / 3, rel=1e-6)   # x against 2x
    assert all(c.verdict == "ok" for name, c in checks.items() if name != "x")
    assert "analytic [4.50, -6.00], numerical [9.00, -12.00]" in checks["x"].text()


def test_forward_differences_are_offered_and_less_accurate() -> None:
    tr = example("sigmoid-neuron")
    central = gradient_check(tr, h=1e-4)
    forward = gradient_check(tr, h=1e-4, method="forward")
    assert max(c.rel_error for c in forward.values()) > 10 * max(
        c.rel_error for c in central.values())
    with pytest.raises(ExplainError, match="method"):
        gradient_check(tr, method="backward")
    with pytest.raises(ExplainError, match="h must be > 0"):
        gradient_check(tr, h=0)


def test_large_tensors_are_checked_on_a_seeded_sample() -> None:
    rng = np.random.default_rng(0)
    f = evaluate("sum(tanh(W @ x))", {"W": rng.normal(size=(20, 30)), "x": rng.normal(size=30)})
    tr = trace(f)
    c = {c.node.name: c for c in tr.gradient_check(max_elements=8).values()}["W"]
    assert c.size == 600 and len(c.elements) == 8 and c.verdict == "ok"
    again = gradient_check(tr, max_elements=8)
    np.testing.assert_array_equal(again[c.node.id].elements, c.elements)
    assert "(8 of 600 elements)" in c.text()


def test_float32_graphs_are_checked_in_float64() -> None:
    cr.manual_seed(0)
    model = cr.nn.MLP(4, [5], 3)
    loss = cr.nn.CrossEntropyLoss()(model(cr.randn(2, 4)), np.array([0, 2]))
    checks = trace(loss).gradient_check()
    assert all(c.verdict == "ok" for c in checks.values()), [c.text() for c in checks.values()]


def test_a_random_op_cannot_be_checked_and_says_why() -> None:
    cr.manual_seed(0)
    x = cr.tensor(np.ones((4, 50)), dtype="float64", requires_grad=True)
    x.name = "x"
    tr = trace(cr.nn.Dropout(0.5)(x).sum())
    c = tr.gradient_check()[tr["x"].id]
    assert c.verdict == "skipped" and "random op" in c.reason
    assert c.short() == "num -"


def test_results_are_cached_per_setting() -> None:
    tr = example("simple")
    assert tr.gradient_check() is tr.gradient_check()
    assert tr.gradient_check(h=1e-4) is not tr.gradient_check()
