"""The weight penalties as single gates: values, gradients, second derivatives, explainer."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.penalty import L1Penalty, L2Penalty


def _weights(seed: int = 0) -> list[cr.Tensor]:
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.standard_normal(s), dtype="float64", requires_grad=True)
            for s in ((3, 4), (2, 3))]


def test_l2_value_and_gradient_are_the_lecture_formulas() -> None:
    ws = _weights()
    penalty = cr.ops.l2_penalty(ws, 0.3)
    assert penalty.item() == pytest.approx(0.3 * sum((w.data ** 2).sum() for w in ws))
    penalty.backward()
    for w in ws:
        np.testing.assert_allclose(w.grad, 2 * 0.3 * w.data)


def test_l1_value_and_gradient_are_the_lecture_formulas() -> None:
    ws = _weights()
    ws[0].data[0, 0] = 0.0  # sign(0) = 0, as in PyTorch
    penalty = cr.ops.l1_penalty(ws, 0.3)
    assert penalty.item() == pytest.approx(0.3 * sum(np.abs(w.data).sum() for w in ws))
    penalty.backward()
    for w in ws:
        np.testing.assert_allclose(w.grad, 0.3 * np.sign(w.data))
    assert ws[0].grad[0, 0] == 0.0


@pytest.mark.parametrize("fn", [cr.ops.l1_penalty, cr.ops.l2_penalty])
def test_gradcheck(fn: object) -> None:
    ws = _weights(1)
    cr.gradcheck(lambda a, b: fn([a, b], 0.7), ws)


def test_second_derivatives_through_the_l2_penalty() -> None:
    (w,) = _weights()[:1]
    (g,) = cr.grad(cr.ops.l2_penalty([w], 0.5), [w], create_graph=True)
    (h,) = cr.grad(g.sum(), [w])
    np.testing.assert_allclose(h, np.ones_like(w.data))  # d/dW sum(2 * 0.5 * W) = 1


def test_the_same_numbers_as_squares_sums_and_adds() -> None:
    ws = [cr.tensor(w.data.astype(np.float32), requires_grad=True) for w in _weights(2)]
    gate = cr.ops.l2_penalty(ws, 1e-3)
    gate.backward()
    grads = [w.grad.copy() for w in ws]
    for w in ws:
        w.grad = None
    chain = ((ws[0] * ws[0]).sum() + (ws[1] * ws[1]).sum()) * 1e-3
    chain.backward()
    assert gate.item() == chain.item()
    for g, w in zip(grads, ws):
        np.testing.assert_array_equal(g, w.grad)  # bit for bit


def test_no_weights_is_zero_and_the_gates_describe_themselves() -> None:
    assert cr.ops.l2_penalty([], 1.0).item() == 0.0
    assert L2Penalty.norm == 2 and L1Penalty.norm == 1
    assert L2Penalty.local_rule(0, [], None) == "2 lambda W"
    from chainrule import explain

    table = explain.trace(cr.ops.l2_penalty(_weights(), 0.1)).backward_table()
    assert "L2 penalty" in table
