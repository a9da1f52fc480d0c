"""The explainer's graph capture and backward steps: the lecture's numbers, gate by gate."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import ExplainError, evaluate, steps, trace
from chainrule.explain.examples import EXAMPLES, example


def leaf(name: str, value: object, dtype: str = "float64") -> cr.Tensor:
    t = cr.tensor(value, dtype=dtype, requires_grad=True)
    t.name = name
    return t


def gate_steps(tr):
    return [s for s in steps(tr) if s.kind == "gate"]


def test_simple_example_steps_and_gradients() -> None:
    tr = example("simple")
    assert [n.name for n in tr.inputs] == ["x", "y", "z"]
    assert float(tr["q"].value) == 3.0 and float(tr["f"].value) == -12.0
    mul, add = gate_steps(tr)
    node, upstream, local, downstream = mul
    assert node.name == "f" and float(upstream) == 1.0
    assert [float(v) for v in local] == [-4.0, 3.0]          # swap: dq = z, dz = q
    assert [float(v) for v in downstream] == [-4.0, 3.0]
    assert mul.pattern == "mul gate: swap multiplier"
    assert float(add.upstream) == -4.0
    assert [float(v) for v in add.downstream] == [-4.0, -4.0]
    assert add.pattern == "add gate: gradient distributor"
    assert {k: float(v) for k, v in tr.grads().items()} == {"x": -4.0, "y": -4.0, "z": 3.0}
    table = tr.backward_table()
    for number in ("-4.00", "3.00", "1.00"):
        assert number in table


SIGMOID_EXACT = {"w0": -0.19661, "x0": 0.39322, "w1": -0.39322, "x1": -0.58984, "w2": 0.19661}


def test_sigmoid_neuron_forward_values_in_order() -> None:
    tr = example("sigmoid-neuron")
    values = [float(n.value) for n in tr.gates]
    np.testing.assert_allclose(values, [-2, 6, 4, 1, -1, 0.36788, 1.36788, 0.73106], atol=5e-6)
    assert [n.label for n in tr.gates] == ["*", "*", "+", "+", "*-1", "exp", "+1", "1/x"]


def test_sigmoid_neuron_two_decimals_and_exact() -> None:
    tr = example("sigmoid-neuron")
    table = tr.backward_table(precision=2)
    for number in ("0.73", "-0.20", "0.39", "-0.39", "-0.59", "0.20", "-0.53"):
        assert number in table, number
    assert "0.73" in tr.forward_table(2)
    grads = tr.grads()
    for name, want in SIGMOID_EXACT.items():
        assert float(grads[name]) == pytest.approx(want, abs=5e-6)
    full = tr.backward_table(precision=5)
    for want in SIGMOID_EXACT.values():
        assert f"{want:.5f}" in full
    exp_step = next(s for s in gate_steps(tr) if s.node.op == "Exp")
    assert exp_step.pattern == "exp gate: output multiplier"
    assert float(exp_step.local[0]) == pytest.approx(np.exp(-1.0))   # local = its own output


def test_sigmoid_as_one_gate_has_local_gradient_point_two() -> None:
    f = evaluate("sigmoid(w0*x0 + w1*x1 + w2)", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3})
    tr = trace(f)
    sig = gate_steps(tr)[0]
    assert sig.node.label == "sigmoid"
    assert float(sig.local[0]) == pytest.approx((1 - 0.731058) * 0.731058, abs=1e-6)
    assert f"{float(sig.local[0]):.2f}" == "0.20"
    for name, want in SIGMOID_EXACT.items():
        assert float(tr[name].grad) == pytest.approx(want, abs=5e-6)


def test_gates_example_shows_the_four_patterns() -> None:
    tr = example("gates")
    g = {k: float(v) for k, v in tr.grads().items()}
    assert (g["a_x"], g["a_y"]) == (2.0, 2.0)                 # distributor
    assert (g["m_x"], g["m_y"]) == (15.0, 10.0)               # swap multiplier
    assert g["c_x"] == 6.0                                    # adder: 4 + 2
    assert (g["x_max"], g["y_max"]) == (0.0, 9.0)             # router
    copy = [s for s in steps(tr) if s.kind == "copy"]
    assert len(copy) == 1 and copy[0].pattern == "copy gate: gradient adder"
    assert sorted(float(u) for u in copy[0].upstream) == [2.0, 4.0]
    patterns = {s.pattern for s in steps(tr)}
    assert {"max gate: gradient router", "add gate: gradient distributor",
            "mul gate: swap multiplier"} <= patterns


def test_relu_vector_local_is_the_jacobian_diagonal() -> None:
    tr = example("relu-vector")
    (step,) = steps(tr)
    np.testing.assert_array_equal(step.local[0], [1, 0, 1, 0])
    np.testing.assert_array_equal(tr["x"].grad, [4, 0, 5, 0])
    assert step.pattern.endswith("gradient router")


def test_matmul_example_matches_the_shape_rule() -> None:
    tr = example("matmul")
    x, w = tr["x"].value, tr["w"].value
    up = np.array([[2, 3, -3, 9], [-8, 1, 4, 6]], dtype=float)
    np.testing.assert_array_equal(tr["y"].value, [[13, 9, 2, -10], [5, 2, 11, 7]])
    np.testing.assert_allclose(tr["x"].grad, up @ w.T)
    np.testing.assert_allclose(tr["w"].grad, x.T @ up)
    (step,) = steps(tr)
    assert step.local == ["upstream @ w^T", "x^T @ upstream"]


def test_vectorized_norm_example() -> None:
    tr = example("vectorized-norm")
    np.testing.assert_allclose(tr["q"].value, [0.22, 0.26])
    assert float(tr["f"].value) == pytest.approx(0.116)
    np.testing.assert_allclose(tr["W"].grad, [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_allclose(tr["x"].grad, [-0.112, 0.636])
    square = next(s for s in steps(tr) if s.node.op == "Pow")
    np.testing.assert_allclose(square.downstream[0], [0.44, 0.52])   # grad_q = 2q
    table = tr.backward_table(3)
    for number in ("0.088", "0.176", "0.104", "0.208", "-0.112", "0.636", "0.440", "0.520"):
        assert number in table


def test_every_example_builds() -> None:
    for name in EXAMPLES:
        tr = example(name)
        assert tr.steps and tr.title
    with pytest.raises(ExplainError, match="no example named 'nope'"):
        example("nope")


class Cube(cr.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, upstream):
        (x,) = ctx.saved_tensors
        return upstream * 3 * x**2


class Twice(cr.Function):
    symbol = "2x"

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, upstream):
        return 2 * upstream


def test_user_defined_function_appears_in_the_trace() -> None:
    x = leaf("x", 2.0)
    out = Twice.apply(Cube.apply(x)) + x
    tr = trace(out)
    labels = [n.label for n in tr.gates]
    assert labels == ["Cube", "2x", "+"]
    cube = next(s for s in steps(tr) if s.node.op == "Cube")
    assert float(cube.local[0]) == 12.0 and float(cube.upstream) == 2.0
    assert float(tr["x"].grad) == 2 * 12.0 + 1.0
    assert any(s.kind == "copy" for s in steps(tr))


def test_user_function_on_tensors_gets_a_rule() -> None:
    x = leaf("x", [1.0, 2.0])
    tr = trace(Cube.apply(x).sum())
    cube = next(s for s in steps(tr) if s.node.op == "Cube")
    assert cube.local[0] == "Cube.backward(ctx, upstream)"
    np.testing.assert_allclose(tr["x"].grad, [3.0, 12.0])


def test_reciprocal_gates_are_drawn_as_one_over_x() -> None:
    x = leaf("x", 4.0)
    assert [n.label for n in trace(1 / x).gates] == ["1/x"]
    assert [n.label for n in trace(x ** -1).gates] == ["1/x"]
    assert [n.label for n in trace(3 / x).gates] == ["3/x"]
    assert [n.label for n in trace(x - 2).gates] == ["-2"]


def test_trace_leaves_grad_alone_unless_asked() -> None:
    x, y = leaf("x", 3.0), leaf("y", 4.0)
    out = x * y
    trace(out)
    assert x.grad is None and y.grad is None
    trace(out, backward=True)
    assert float(x.grad) == 4.0 and float(y.grad) == 3.0


def test_freed_graph_is_a_clear_error_and_retained_graph_works() -> None:
    x = leaf("x", 3.0)
    out = cr.exp(x) * x
    out.backward()
    with pytest.raises(ExplainError, match="freed by backward"):
        trace(out)
    x2 = leaf("x", 3.0)
    out2 = cr.exp(x2) * x2
    out2.backward(retain_graph=True)
    tr = trace(out2)
    assert float(tr["x"].grad) == pytest.approx(float(x2.grad))


def test_leaf_and_non_tensor_outputs_are_refused() -> None:
    with pytest.raises(ExplainError, match="leaf"):
        trace(leaf("x", 1.0))
    with pytest.raises(ExplainError, match="Tensor"):
        trace([3.0])  # type: ignore[list-item]
    x = leaf("x", [1.0, 2.0])
    with pytest.raises(ExplainError, match="does not match"):
        trace(x * 2, upstream=[1.0, 2.0, 3.0])


def test_trace_agrees_with_the_engine_on_a_small_network() -> None:
    rng = np.random.default_rng(1)
    xv, wv, bv = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    tensors = [cr.tensor(v, dtype="float64", requires_grad=True) for v in (xv, wv, bv)]
    x, w, b = tensors
    h = cr.tanh(x @ w + b)
    loss = cr.mean(cr.relu(h) ** 2) + cr.max(h) - cr.logsumexp(h, axis=1).sum()
    tr = trace(loss, names={"x": x, "w": w, "b": b})
    loss.backward()
    for name, t in (("x", x), ("w", w), ("b", b)):
        np.testing.assert_allclose(tr[name].grad, t.grad, rtol=1e-12, atol=1e-12)
    # The gradient at every wire is the one a numerical check gives for that input.
    err = cr.gradcheck(lambda a: cr.mean(cr.relu(cr.tanh(a @ w + b)) ** 2),
                       [cr.tensor(xv, dtype="float64", requires_grad=True)])
    assert err


def test_float32_graphs_and_tensor_outputs() -> None:
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    tr = trace(cr.relu(x) * 3)
    assert tr.nodes[0].value.dtype == np.float32
    np.testing.assert_array_equal(tr.nodes[0].grad, [3.0, 0.0])
    assert tr.nodes[-1].name == "out"


def test_deep_graph_is_captured_without_recursion() -> None:
    x = leaf("x", 1.0)
    out = x
    for _ in range(2000):  # far deeper than Python's recursion limit
        out = out * 1.0 + 0.0
    tr = trace(out)
    assert len(tr.gates) == 4000
    assert float(tr["x"].grad) == 1.0


def test_several_outputs_with_their_own_upstreams() -> None:
    x = leaf("x", 2.0)
    a, b = x * 3, x + 1
    tr = trace([a, b], upstream=[2.0, 5.0])
    assert float(tr["x"].grad) == 2.0 * 3 + 5.0
    assert len(tr.outputs) == 2
