"""The lecture's worked examples (LECTURE.md sections 4 and 5), with their exact numbers."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F


def leaf(value: object) -> cr.Tensor:
    return cr.tensor(value, dtype="float64", requires_grad=True)


def test_example_1_add_then_multiply() -> None:
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    q = x + y
    q.retain_grad()
    f = q * z
    assert q.item() == 3.0
    assert f.item() == -12.0
    f.backward()
    assert z.grad == 3.0  # df/dz = q
    assert q.grad == -4.0  # df/dq = z
    assert x.grad == -4.0
    assert y.grad == -4.0


SIGMOID_GRADS = {"w0": -0.19661, "x0": 0.39322, "w1": -0.39322, "x1": -0.58984, "w2": 0.19661}


def _neuron_inputs() -> dict[str, cr.Tensor]:
    return {"w0": leaf(2.0), "x0": leaf(-1.0), "w1": leaf(-3.0), "x1": leaf(-2.0), "w2": leaf(-3.0)}


def test_example_2_sigmoid_neuron_from_elementary_gates() -> None:
    v = _neuron_inputs()
    a = v["w0"] * v["x0"]
    b = v["w1"] * v["x1"]
    c = a + b
    d = c + v["w2"]
    e = d * -1
    g = cr.exp(e)
    h = g + 1
    f = 1 / h
    forward = [a, b, c, d, e, g, h, f]
    for t in forward:
        t.retain_grad()
    got = [round(t.item(), 2) for t in forward]
    assert got == [-2.0, 6.0, 4.0, 1.0, -1.0, 0.37, 1.37, 0.73]
    f.backward()
    for name, expected in SIGMOID_GRADS.items():
        assert v[name].grad == pytest.approx(expected, abs=1e-5), name
    # The backward walk of the slide: d(1/x) = -1/x^2, d(c+x) = 1, d e^x = e^x, d(ax) = a.
    assert h.grad == pytest.approx(-1 / 1.3679**2, abs=1e-3)  # -0.53
    assert g.grad == pytest.approx(h.grad)
    assert e.grad == pytest.approx(g.grad * np.exp(-1.0))  # -0.20
    assert d.grad == pytest.approx(0.19661, abs=1e-5)  # 0.20


def test_example_2_sigmoid_neuron_with_one_sigmoid_node() -> None:
    v = _neuron_inputs()
    dot = v["w0"] * v["x0"] + v["w1"] * v["x1"] + v["w2"]
    dot.retain_grad()
    f = F.sigmoid(dot)
    assert f.item() == pytest.approx(0.7310586, abs=1e-7)
    assert repr(f).endswith("grad_fn=<SigmoidBackward>)")
    f.backward()
    # d sigma/dx at 1 = (1 - 0.73)(0.73) = 0.2
    assert dot.grad == pytest.approx((1 - f.item()) * f.item())
    assert round(float(dot.grad), 1) == 0.2
    for name, expected in SIGMOID_GRADS.items():
        assert v[name].grad == pytest.approx(expected, abs=1e-5), name


def test_add_gate_distributes() -> None:
    x, y = leaf(3.0), leaf(4.0)
    z = x + y
    assert z.item() == 7.0
    z.backward(2.0)
    assert (x.grad, y.grad) == (2.0, 2.0)


def test_mul_gate_swaps() -> None:
    x, y = leaf(2.0), leaf(3.0)
    z = x * y
    assert z.item() == 6.0
    z.backward(5.0)
    assert (x.grad, y.grad) == (15.0, 10.0)


def test_copy_gate_adds() -> None:
    x = leaf(1.5)
    first, second = x + 0.0, x * 1.0  # two uses of the same value
    (g,) = cr.grad([first, second], x, upstream=[np.float64(4.0), np.float64(2.0)])
    assert g.item() == 6.0
    # The same through backward(): both branches land in one .grad.
    ((x + 0.0) * 4.0 + (x * 1.0) * 2.0).backward()
    assert x.grad == 6.0


def test_max_gate_routes() -> None:
    x, y = leaf(4.0), leaf(5.0)
    z = cr.maximum(x, y)
    assert z.item() == 5.0
    z.backward(9.0)
    assert (x.grad, y.grad) == (0.0, 9.0)


def test_exp_gate_multiplies_by_its_output() -> None:
    x = leaf(0.7)
    z = cr.exp(x)
    z.backward(3.0)
    assert x.grad == pytest.approx(3.0 * np.exp(0.7))


def test_relu_vector_example() -> None:
    x = leaf([1.0, -2.0, 3.0, -1.0])
    z = F.relu(x)
    np.testing.assert_array_equal(z.data, [1.0, 0.0, 3.0, 0.0])
    z.backward(np.array([4.0, -1.0, 5.0, 9.0]))
    np.testing.assert_array_equal(x.grad, [4.0, 0.0, 5.0, 0.0])
    jac = cr.jacobian(F.relu, x)
    np.testing.assert_array_equal(jac, np.diag([1.0, 0.0, 1.0, 0.0]))


def test_matrix_multiply_shape_rule() -> None:
    x = leaf([[2, -1, 3], [-3, 4, 2]])
    w = leaf([[3, 2, 1, -1], [2, 1, 3, 2], [3, 2, 1, -2]])
    dy = np.array([[2, 3, -3, 9], [-8, 1, 4, 6]], dtype=np.float64)
    y = x @ w
    np.testing.assert_array_equal(y.data, [[13, 9, 2, -10], [5, 2, 11, 7]])
    y.backward(dy)
    # dL/dx = dL/dy w^T (N x D), dL/dw = x^T dL/dy (D x M): the only shapes that fit.
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    np.testing.assert_array_equal(x.grad, [[0, 16, -9], [-24, 9, -30]])
    np.testing.assert_array_equal(
        w.grad, [[28, 3, -18, 0], [-34, 1, 19, 15], [-10, 11, -1, 39]]
    )


def test_explicit_jacobian_of_the_lecture_layer_is_256_gib() -> None:
    from chainrule.gradient_check import jacobian_size_bytes

    assert jacobian_size_bytes((64, 4096), (64, 4096), itemsize=4) == 256 * 2**30


def test_vectorized_example_norm_of_wx() -> None:
    W = leaf([[0.1, 0.5], [-0.3, 0.8]])
    x = leaf([0.2, 0.4])
    q = W @ x
    q.retain_grad()
    f = (q * q).sum()
    np.testing.assert_allclose(q.data, [0.22, 0.26], atol=1e-12)
    assert f.item() == pytest.approx(0.116)
    f.backward()
    np.testing.assert_allclose(q.grad, [0.44, 0.52], atol=1e-12)
    np.testing.assert_allclose(W.grad, [[0.088, 0.176], [0.104, 0.208]], atol=1e-12)
    np.testing.assert_allclose(x.grad, [-0.112, 0.636], atol=1e-12)


def test_two_layer_class_example_matches_hand_backprop() -> None:
    rng = np.random.default_rng(4)
    X, W1 = rng.standard_normal((5, 3)), rng.standard_normal((3, 6))
    W2 = rng.standard_normal((6, 2))
    tx, t1, t2 = leaf(X), leaf(W1), leaf(W2)
    y_hat = F.relu(tx @ t1) @ t2
    (y_hat * y_hat).sum().backward()
    z1 = X @ W1
    h1 = np.maximum(z1, 0)
    dy = 2 * (h1 @ W2)
    dW2 = h1.T @ dy
    dz1 = (dy @ W2.T) * (z1 > 0)
    np.testing.assert_allclose(t2.grad, dW2, rtol=1e-12)
    np.testing.assert_allclose(t1.grad, X.T @ dz1, rtol=1e-12)
    np.testing.assert_allclose(tx.grad, dz1 @ W1.T, rtol=1e-12)


def test_softmax_and_svm_loss_of_the_cat_example() -> None:
    scores = cr.tensor([[3.2, 5.1, -1.7]], dtype="float64")
    assert F.cross_entropy(scores, [0]).item() == pytest.approx(2.0404, abs=1e-4)
    assert F.multiclass_hinge_loss(scores, [0]).item() == pytest.approx(2.9)
