"""cr.numerical_gradient, cr.rel_error, cr.gradcheck and cr.jacobian."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F


def test_numerical_gradient_centered_differences() -> None:
    x = np.array([1.0, -2.0, 0.5])
    g = cr.numerical_gradient(lambda a: (a**3).sum(), x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # restored after nudging


def test_numerical_gradient_with_upstream_and_tensor_input() -> None:
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64")
    up = np.array([[1.0, -1.0], [2.0, 0.5]])
    g = cr.numerical_gradient(lambda t: (t * t).data, x, upstream=up)
    np.testing.assert_allclose(g, 2 * x.data * up, rtol=1e-8)


def test_numerical_gradient_forward_differences_are_the_lectures_formula() -> None:
    calls = []

    def f(a: np.ndarray) -> float:
        calls.append(1)
        return float((a ** 3).sum())

    x = np.array([1.5, -1.0])
    h = 1e-3
    fwd = cr.numerical_gradient(f, x, h=h, method="forward")
    expected = [((1.5 + h) ** 3 - 1.5 ** 3) / h, ((-1.0 + h) ** 3 + 1.0) / h]
    np.testing.assert_allclose(fwd, expected, rtol=1e-12)
    assert len(calls) == 3  # f(x) once, then one call per element
    np.testing.assert_array_equal(x, [1.5, -1.0])  # restored


def test_central_differences_are_more_accurate_than_forward_ones() -> None:
    f = lambda a: (a ** 3).sum()
    x = np.array([1.5])
    exact = 3 * x ** 2
    for h in (1e-1, 1e-2, 1e-3):
        fwd = cr.rel_error(cr.numerical_gradient(f, x, h=h, method="forward"), exact)
        cen = cr.rel_error(cr.numerical_gradient(f, x, h=h, method="central"), exact)
        assert cen < fwd / 10
    # the forward error shrinks like h, the central one like h^2
    errors = [cr.rel_error(cr.numerical_gradient(f, x, h=h, method="forward"), exact)
              for h in (1e-2, 1e-3)]
    assert errors[0] / errors[1] == pytest.approx(10, rel=0.05)


def test_numerical_gradient_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="method must be 'central' or 'forward', not 'backward'"):
        cr.numerical_gradient(lambda a: a.sum(), np.ones(2), method="backward")


def test_numerical_gradient_refuses_integer_input() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        cr.numerical_gradient(lambda a: a.sum(), np.array([1, 2]))


def test_rel_error_is_the_lectures_formula() -> None:
    assert cr.rel_error(1.0, 1.0) == 0.0
    assert cr.rel_error(np.array([1.0, 2.0]), np.array([1.0, 3.0])) == pytest.approx(0.2)
    assert cr.rel_error(0.0, 0.0) == 0.0
    assert cr.rel_error(0.0, 1e-9) == pytest.approx(1e-9 / 1e-8)  # floor of 1e-8
    assert cr.rel_error(cr.tensor([2.0]), cr.tensor([2.0])) == 0.0


def test_gradcheck_passes_for_correct_ops() -> None:
    rng = np.random.default_rng(0)
    assert cr.gradcheck(lambda x: cr.tanh(x) * x, [rng.standard_normal((3, 4))])
    assert cr.gradcheck(
        lambda x, w, b: F.linear(x, w, b),
        [rng.standard_normal((5, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)],
    )
    labels = np.array([0, 2, 1])
    assert cr.gradcheck(lambda s, y: F.cross_entropy(s, y), [rng.standard_normal((3, 4)), labels])


def test_gradcheck_works_in_float64_from_float32_inputs() -> None:
    seen = []

    def fn(x: cr.Tensor) -> cr.Tensor:
        seen.append(x.dtype)
        return x * x

    assert cr.gradcheck(fn, [cr.randn(3)])
    assert set(seen) == {np.dtype(np.float64)}


def test_gradcheck_catches_a_wrong_gradient() -> None:
    class HalfWrong(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray, y: np.ndarray) -> np.ndarray:
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> tuple:
            _, y = ctx.saved_tensors
            return upstream * y, upstream * y  # dL/dy should be upstream * x

    rng = np.random.default_rng(1)
    with pytest.raises(cr.GradcheckError, match=r"input 1 \(shape \(2, 3\)\)"):
        cr.gradcheck(HalfWrong.apply, [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))])


def test_gradcheck_catches_a_missing_broadcast_reduction() -> None:
    class Wrong(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            return x * 2

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            return upstream  # should be 2 * upstream

    with pytest.raises(cr.GradcheckError, match="analytic"):
        cr.gradcheck(Wrong.apply, [np.ones(3)])


def test_gradcheck_uses_a_random_upstream() -> None:
    # A gradient that is right only for an all-ones upstream must fail.
    class OnesOnly(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            return x * 3

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            return np.full(upstream.shape, 3.0)

    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(OnesOnly.apply, [np.ones(4)])


def test_gradcheck_needs_a_float_input_and_a_tensor_output() -> None:
    with pytest.raises(ValueError, match="no floating-point input"):
        cr.gradcheck(lambda y: y, [np.array([1, 2])])
    with pytest.raises(TypeError, match="must return a Tensor"):
        cr.gradcheck(lambda x: x.data, [np.ones(2)])


def test_jacobian_of_elementwise_and_reduction() -> None:
    x = np.array([0.5, -1.0, 2.0])
    jac = cr.jacobian(F.sigmoid, cr.tensor(x, dtype="float64"))
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(jac, np.diag(s * (1 - s)))
    jac = cr.jacobian(lambda t: F.softmax(t), cr.tensor(x, dtype="float64"))
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(jac, np.diag(p) - np.outer(p, p), atol=1e-12)


def test_jacobian_refuses_the_lectures_256_gib_example() -> None:
    from chainrule.gradient_check import jacobian_size_bytes

    assert jacobian_size_bytes((64, 4096), (64, 4096)) == 274_877_906_944
    x = cr.zeros(64, 4096)
    expected = r"262144 x 262144 = 274,877,906,944 bytes \(256\.0 GiB\)"
    with pytest.raises(MemoryError, match=expected):
        cr.jacobian(F.relu, x)
