"""The engine: Function API, backward pass, accumulation, retain_grad, no_grad, cr.grad."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule.autograd import unbroadcast


def leaf(value: Any) -> cr.Tensor:
    return cr.tensor(value, dtype="float64", requires_grad=True)


# ----------------------------------------------------------------------------- Function API
class Cube(cr.Function):
    """A user-defined op: x^3 with local gradient 3x^2."""

    @staticmethod
    def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return upstream * 3 * x**2


class ScaledAdd(cr.Function):
    @staticmethod
    def forward(ctx: cr.Context, x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
        ctx.scale = scale
        ScaledAdd.seen = tuple(ctx.needs_input_grad)
        return x + scale * y

    @staticmethod
    def backward(ctx: cr.Context, upstream: np.ndarray) -> tuple:
        need_x, need_y, _ = ctx.needs_input_grad
        return (upstream if need_x else None), (ctx.scale * upstream if need_y else None), None


def test_user_function_is_a_first_class_op() -> None:
    x = leaf([1.0, -2.0])
    y = Cube.apply(x)
    assert repr(y).endswith("grad_fn=<CubeBackward>)")
    assert y.grad_fn.fn is Cube and y.grad_fn.inputs == (x,)
    np.testing.assert_array_equal(y.grad_fn.out, [1.0, -8.0])
    (y * 2).sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data**2)
    assert cr.gradcheck(lambda t: Cube.apply(t), [np.array([0.3, -1.2])])


def test_needs_input_grad_and_constants() -> None:
    x, y = leaf([1.0, 2.0]), cr.tensor([3.0, 4.0], dtype="float64")
    out = ScaledAdd.apply(x, y, 0.5)
    assert ScaledAdd.seen == (True, False, False)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    assert y.grad is None


def test_engine_unbroadcasts_user_gradients() -> None:
    x, b = leaf(np.ones((3, 4))), leaf([1.0, 2.0, 3.0, 4.0])
    ScaledAdd.apply(x, b, 2.0).sum().backward()  # backward returns (3, 4) for b: engine sums
    np.testing.assert_array_equal(b.grad, [6.0, 6.0, 6.0, 6.0])
    c = leaf(np.ones((3, 1)))
    ScaledAdd.apply(x, c, 1.0).sum().backward()
    np.testing.assert_array_equal(c.grad, [[4.0], [4.0], [4.0]])


def test_unbroadcast() -> None:
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (2, 3, 4)) is g
    np.testing.assert_array_equal(unbroadcast(g, (4,)), np.full(4, 6.0))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(unbroadcast(g, (1, 1, 1)), np.full((1, 1, 1), 24.0))
    np.testing.assert_array_equal(unbroadcast(g, ()), 24.0)
    with pytest.raises(ValueError, match="cannot be reduced"):
        unbroadcast(np.ones(3), (2, 3))


def test_backward_returning_wrong_count_is_reported() -> None:
    class Bad(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return x + y

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            return upstream

    with pytest.raises(RuntimeError, match=r"Bad\.backward returned 1 gradients for 2 inputs"):
        Bad.apply(leaf([1.0]), leaf([2.0])).sum().backward()


# ----------------------------------------------------------------------------- accumulation
def test_gradients_accumulate_across_backward_calls() -> None:
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_accumulation_does_not_alias_other_arrays() -> None:
    x = leaf([1.0, 2.0])
    up = np.array([1.0, 1.0])
    x.backward(up)  # a leaf backpropagating into itself gets a copy of upstream
    x.backward(up)
    np.testing.assert_array_equal(up, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_custom_op_returning_a_saved_array_is_not_corrupted() -> None:
    class PassSaved(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            ctx.save_for_backward(np.ones_like(x))
            return x.copy()

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            (ones,) = ctx.saved_tensors
            return ones

    x = leaf([1.0, 2.0])
    y = PassSaved.apply(x)
    y.backward(np.ones(2), retain_graph=True)
    y.backward(np.ones(2), retain_graph=True)
    np.testing.assert_array_equal(y.grad_fn.saved[0], [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_only_leaves_keep_grad_unless_retain_grad() -> None:
    x = leaf([1.0, 2.0])
    h = x * 2
    k = h * 3
    k.retain_grad()
    out = (k * k).sum()
    out.backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad, 2 * k.data)
    np.testing.assert_allclose(x.grad, 2 * k.data * 6)
    assert out.grad is None


def test_retained_grad_accumulates_like_a_leaf() -> None:
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    y = h.sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(h.grad, [2.0, 2.0])


def test_gradient_of_a_scalar_tensor_is_an_ndarray() -> None:
    x = leaf(2.0)
    (x * 4.0 + x * 2.0).backward()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == () and x.grad == 6.0


def test_grad_has_the_shape_and_dtype_of_data() -> None:
    x = cr.randn(3, 1, requires_grad=True)
    w = cr.randn(1, 4, dtype="float64")
    (x * w).sum().backward()
    assert x.grad.shape == (3, 1) and x.grad.dtype == np.float32


def test_multiple_roots_and_non_scalar_upstream() -> None:
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(cr.ones_like(y))
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
    x.zero_grad()
    y2 = x * 2
    y2.backward([1.0, 0.0, 2.0])
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 4.0])


def test_retain_graph_allows_a_second_backward() -> None:
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_backward_frees_saved_values() -> None:
    x = leaf([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    y.sum().backward()
    assert node.saved == () and node.freed


def test_diamond_graph_runs_each_node_once() -> None:
    calls = []

    class Count(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            return x * 1.0

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            calls.append(upstream.copy())
            return upstream

    x = leaf([1.0])
    a = Count.apply(x)
    (a * 2 + a * 3 + a).sum().backward()
    assert len(calls) == 1 and calls[0].tolist() == [6.0]
    assert x.grad.tolist() == [6.0]


# ----------------------------------------------------------------------------- no_grad
def test_no_grad_context_manager() -> None:
    x = leaf([1.0])
    with cr.no_grad():
        y = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad


def test_no_grad_decorator_and_enable_grad() -> None:
    x = leaf([1.0])

    @cr.no_grad()
    def infer(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    assert not infer(x).requires_grad
    assert cr.is_grad_enabled()
    with cr.no_grad():
        with cr.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad


def test_no_grad_restores_state_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError), cr.no_grad():
        raise ZeroDivisionError
    assert cr.is_grad_enabled()


# ----------------------------------------------------------------------------- cr.grad
def test_grad_returns_tensors_and_leaves_dot_grad_alone() -> None:
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gy = cr.grad((x * y).sum(), [x, y])
    assert isinstance(gx, cr.Tensor) and isinstance(gy, cr.Tensor)
    np.testing.assert_array_equal(gx.data, [3.0, 4.0])
    np.testing.assert_array_equal(gy.data, [1.0, 2.0])
    assert x.grad is None and y.grad is None


def test_grad_of_intermediate_and_unused_inputs() -> None:
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = cr.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data)
    unused = leaf([0.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.grad((x * 2).sum(), [x, unused])
    gx, gu = cr.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.data.tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="requires_grad"):
        cr.grad((x * 2).sum(), cr.tensor([1.0]))


def test_second_derivative() -> None:
    x = leaf([3.0])
    (g,) = cr.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(g.data, [27.0])
    (h,) = cr.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, [18.0])
    (g2,) = cr.grad((cr.tanh(x) * cr.exp(x)).sum(), x, create_graph=True)
    (h2,) = cr.grad(g2.sum(), x)
    t, e = np.tanh(3.0), np.exp(3.0)
    # d2/dx2 tanh(x) e^x = e^x (tanh + 2(1 - tanh^2) - 2 tanh (1 - tanh^2))
    np.testing.assert_allclose(h2.data, [e * (t + 2 * (1 - t * t) - 2 * t * (1 - t * t))])


def test_backward_with_create_graph_keeps_grad_differentiable() -> None:
    x = leaf([2.0])
    y = (x**4).sum()
    y.backward(create_graph=True)
    np.testing.assert_allclose(x.grad, [32.0])


def _mlp_loss(params: list[cr.Tensor], x: np.ndarray, labels: np.ndarray) -> cr.Tensor:
    w1, b1, w2, b2 = params
    hidden = F.relu(F.linear(cr.tensor(x, dtype="float64"), w1, b1))
    return F.cross_entropy(F.linear(hidden, w2, b2), labels)


def test_hessian_vector_product_of_an_mlp_loss() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5))
    labels = rng.integers(0, 3, size=8)
    shapes = [(6, 5), (6,), (3, 6), (3,)]
    values = [rng.standard_normal(s) * 0.7 for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    params = [leaf(v) for v in values]
    grads = cr.grad(_mlp_loss(params, x, labels), params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    hvp = [h.data for h in cr.grad(dot, params)]
    # Numerical HVP: centered difference of the gradient along v.
    eps = 1e-6

    def gradient_at(shift: float) -> list[np.ndarray]:
        ps = [leaf(p + shift * v) for p, v in zip(values, vs)]
        return [g.data for g in cr.grad(_mlp_loss(ps, x, labels), ps)]

    plus, minus = gradient_at(eps), gradient_at(-eps)
    for h, p, m in zip(hvp, plus, minus):
        np.testing.assert_allclose(h, (p - m) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_hessian_vector_product_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 5))
    labels = rng.integers(0, 3, size=8)
    shapes = [(6, 5), (6,), (3, 6), (3,)]
    values = [rng.standard_normal(s) * 0.7 for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    params = [leaf(v) for v in values]
    grads = cr.grad(_mlp_loss(params, x, labels), params, create_graph=True)
    hvp = cr.grad(sum((g * v).sum() for g, v in zip(grads, vs)), params)

    def torch_loss(w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        tf = torch.nn.functional
        hidden = tf.relu(tf.linear(torch.from_numpy(x), w1, b1))
        return tf.cross_entropy(tf.linear(hidden, w2, b2), torch.from_numpy(labels))

    _, expected = torch.autograd.functional.hvp(
        torch_loss,
        tuple(torch.from_numpy(v) for v in values),
        tuple(torch.from_numpy(v) for v in vs),
    )
    for got, want in zip(hvp, expected):
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-7, atol=1e-10)


def test_create_graph_does_not_slow_or_change_first_order() -> None:
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    assert not isinstance(x.grad, cr.Tensor)
    assert not y.grad_fn.create_graph


def test_graph_is_freed_by_reference_counting_alone() -> None:
    import weakref

    x = leaf(np.ones(10))
    gc.collect()
    gc.disable()
    try:
        h = cr.exp(x * 3)
        out = (h * h).sum()
        refs = [weakref.ref(h), weakref.ref(out)]
        out.backward()
        del h, out
        assert all(r() is None for r in refs)  # no reference cycle keeps them alive
    finally:
        gc.enable()


# ----------------------------------------------------------------------------- jacobian
def test_jacobian_of_a_linear_map_is_its_matrix() -> None:
    A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    jac = cr.jacobian(lambda t: cr.tensor(A, dtype="float64") @ t, np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(jac, A)


def test_jacobian_refuses_with_its_size_in_bytes() -> None:
    with pytest.raises(MemoryError, match=r"4,194,304 bytes \(0\.0 GiB\)"):
        cr.jacobian(lambda t: t * 2, cr.ones(1024), limit_bytes=1 << 20)
