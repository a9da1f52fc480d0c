"""The one backward walk: backward(), cr.grad and the explainer agree, gate by gate."""

from __future__ import annotations

import sys
from typing import ClassVar

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import backward_pass, topological_order
from chainrule.errors import GraphFreedError
from chainrule.explain import ExplainError, trace

SIGMOID_GRADS = {"w0": -0.19661, "x0": 0.39322, "w1": -0.39322, "x1": -0.58984, "w2": 0.19661}


def leaf(value: object, name: str = "", dtype: str = "float64") -> cr.Tensor:
    t = cr.tensor(value, dtype=dtype, requires_grad=True)
    t.name = name or None
    return t


def add_then_multiply() -> tuple[cr.Tensor, list[cr.Tensor]]:
    x, y, z = leaf(-2.0, "x"), leaf(5.0, "y"), leaf(-4.0, "z")
    return (x + y) * z, [x, y, z]


def sigmoid_neuron() -> tuple[cr.Tensor, list[cr.Tensor]]:
    w0, x0, w1, x1, w2 = (leaf(v, n) for n, v in
                          (("w0", 2.0), ("x0", -1.0), ("w1", -3.0), ("x1", -2.0), ("w2", -3.0)))
    f = 1 / (cr.exp(-(w0 * x0 + w1 * x1 + w2)) + 1)
    return f, [w0, x0, w1, x1, w2]


def three_ways(build) -> list[list[bytes]]:
    """The leaves' gradients from backward(), cr.grad and trace, as exact bytes."""
    out, leaves = build()
    by_trace = trace(out)
    by_grad = cr.grad(out, leaves, retain_graph=True)
    out.backward()
    return [
        [t.grad.tobytes() for t in leaves],
        [g.data.tobytes() for g in by_grad],
        [by_trace[t.name].grad.tobytes() for t in leaves],
    ]


def test_lecture_add_then_multiply_is_the_same_three_ways() -> None:
    backward, grad, traced = three_ways(add_then_multiply)
    assert backward == grad == traced
    assert [np.frombuffer(b)[0] for b in backward] == [-4.0, -4.0, 3.0]


def test_lecture_sigmoid_neuron_is_the_same_three_ways() -> None:
    backward, grad, traced = three_ways(sigmoid_neuron)
    assert backward == grad == traced
    for b, want in zip(backward, SIGMOID_GRADS.values()):
        assert np.frombuffer(b)[0] == pytest.approx(want, abs=5e-6)


def test_an_mlp_with_shared_values_is_the_same_three_ways() -> None:
    rng = np.random.default_rng(0)

    def build() -> tuple[cr.Tensor, list[cr.Tensor]]:
        x = leaf(rng.standard_normal((4, 3)), "x", "float32")
        w = leaf(rng.standard_normal((5, 3)), "w", "float32")
        b = leaf(rng.standard_normal(5), "b", "float32")
        h = cr.relu(cr.linear(x, w, b))
        loss = cr.functional.cross_entropy(h * h + h, np.array([0, 1, 2, 3])) + (w * w).sum()
        return loss, [x, w, b]

    backward, grad, traced = three_ways(build)
    assert backward == grad == traced


def test_observer_sees_each_node_once_after_its_consumers() -> None:
    x = leaf([[1.0, 2.0, 3.0]], "x")        # (1, 3): broadcast against (2, 3)
    c = leaf([[1.0], [2.0]], "c")           # (2, 1)
    h = x * c
    out = (h + h).sum()
    seen = []

    def observer(node, upstream, downstream, sent):
        seen.append((node.name, np.shape(upstream), [None if s is None else s.shape
                                                     for s in sent]))

    found = backward_pass([out], [np.ones(())], collect=True, observer=observer)
    assert [name for name, _, _ in seen] == ["Sum", "Add", "Mul"]
    assert seen[2] == ("Mul", (2, 3), [(1, 3), (2, 1)])   # sent: summed back to the inputs
    assert [n.name for n in topological_order([out])] == ["Mul", "Add", "Sum"]
    np.testing.assert_array_equal(found[id(x)], [[6.0, 6.0, 6.0]])
    np.testing.assert_array_equal(found[id(c)], [[12.0], [12.0]])
    assert x.grad is None and c.grad is None            # collect touches no .grad


def test_observer_gets_gradients_cast_to_the_input_dtype() -> None:
    x = leaf([1.0, 2.0], "x", "float32")
    y = cr.ops.elementwise.Cast.apply(x, np.dtype("float64")) * 3.0
    sent_dtypes = []
    backward_pass([y], [np.ones(2)], retain_graph=True, collect=True,
                  observer=lambda node, up, down, sent: sent_dtypes.append(sent[0].dtype))
    assert sent_dtypes == [np.float64, np.float32]


class ListGate(cr.Function):
    """The lecture's modular gate: backward returns a list, one gradient per input."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, upstream):
        x, y = ctx.saved_tensors
        return [upstream * y, upstream * x]


def test_a_backward_may_return_a_list() -> None:
    x, y = leaf(3.0, "x"), leaf(-2.0, "y")
    out = ListGate.apply(x, y)
    gx, gy = cr.grad(out, [x, y], retain_graph=True)
    tr = trace(out)
    out.backward()
    assert (float(gx), float(gy)) == (-2.0, 3.0)
    assert (float(x.grad), float(y.grad)) == (-2.0, 3.0)
    assert (float(tr["x"].grad), float(tr["y"].grad)) == (-2.0, 3.0)


def test_deep_graph_of_100000_nodes_through_the_walk() -> None:
    x = leaf(1.0, "x")
    h = x
    for _ in range(100_000):
        h = h * 1.0
    assert sys.getrecursionlimit() < 100_000
    assert len(topological_order([h])) == 100_000
    calls = []
    found = backward_pass([h], [np.ones(())], retain_graph=True, collect=True,
                          observer=lambda node, up, down, sent: calls.append(1))
    assert len(calls) == 100_000 and found[id(x)] == 1.0
    (g,) = cr.grad(h, x)
    assert float(g) == 1.0


def test_deep_graph_is_traced() -> None:
    x = leaf(1.0, "x")
    h = x
    for _ in range(20_000):
        h = h * 1.0
    tr = trace(h)
    assert len(tr.steps) == 20_000 and float(tr["x"].grad) == 1.0


def test_freed_graph_is_the_same_error_from_backward_grad_and_trace() -> None:
    out, (x, _, _) = add_then_multiply()
    out.backward()
    with pytest.raises(GraphFreedError, match=r"Mul: trying to backward .* retain_graph=True"):
        out.backward()
    with pytest.raises(GraphFreedError, match="freed by backward"):
        cr.grad(out, x)
    with pytest.raises(ExplainError, match=r"trace: Mul: .*freed by backward"):
        trace(out)
    assert issubclass(GraphFreedError, RuntimeError)


class Fresh(cr.Function):
    """Doubles x; returns a new array (declared) and remembers it."""

    fresh_gradients = True
    returned: ClassVar[list] = []

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, upstream):
        g = 2 * upstream
        Fresh.returned.append(g)
        return g


class Kept(Fresh):
    """The same, without declaring its gradients fresh."""

    fresh_gradients = False


@pytest.mark.parametrize(("fn", "taken"), [(Fresh, True), (Kept, False)])
def test_a_leaf_keeps_a_fresh_gradient_without_copying_it(fn: type, taken: bool) -> None:
    fn.returned.clear()
    x = leaf([1.0, 2.0])
    fn.apply(x).backward(np.ones(2))
    assert (x.grad is fn.returned[0]) is taken
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_upstream_handed_on_unchanged_is_never_shared_between_leaves() -> None:
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    up = np.ones(2)
    (x + y).backward(up)                  # add returns upstream itself to both inputs
    assert x.grad is not y.grad and x.grad is not up
    x.grad += 1
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    np.testing.assert_array_equal(up, [1.0, 1.0])


def test_a_node_runs_with_the_gradient_of_its_other_consumers() -> None:
    class Blocks(cr.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, upstream):
            return None  # sends nothing back, although its input needs a gradient

    x = leaf([1.0, 2.0])
    h = x * 3
    (Blocks.apply(h) + h).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
