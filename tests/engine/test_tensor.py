"""cr.Tensor: construction, dtype rules, attributes, operators, factories, repr."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


# ----------------------------------------------------------------------------- dtypes
def test_float_data_defaults_to_float32() -> None:
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert cr.Tensor([0.5]).dtype == np.float32


def test_float64_on_request() -> None:
    t = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    assert t.dtype == np.float64
    assert cr.zeros(2, dtype=np.float64).dtype == np.float64
    assert cr.randn(2, 2, dtype="float64").dtype == np.float64


def test_integers_and_booleans_stay_as_they_are() -> None:
    assert cr.tensor([1, 2, 3]).dtype.kind == "i"
    assert cr.tensor(np.array([1, 2], dtype=np.uint8)).dtype == np.uint8
    assert cr.tensor([True, False]).dtype == np.bool_
    assert (cr.tensor([1, 2]) * 2).dtype.kind == "i"
    assert (cr.tensor([1, 2]) + cr.tensor([3, 4])).dtype.kind == "i"


@pytest.mark.parametrize("data", [[1, 2], np.arange(3), [True, False]])
def test_integer_tensors_cannot_require_grad(data: object) -> None:
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        cr.tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor(data).requires_grad_()


@pytest.mark.parametrize(
    "scalar", [2.5, 3, np.float64(2.5), np.float32(2.5), np.int64(3), np.array(2.5)]
)
def test_float32_tensor_with_python_or_numpy_scalar_stays_float32(scalar: object) -> None:
    t = cr.ones(3)
    for result in (t * scalar, scalar * t, t + scalar, scalar - t, t / scalar, scalar / t, t**2):
        assert result.dtype == np.float32, type(scalar)


def test_float32_tensor_with_float64_array_stays_float32() -> None:
    t = cr.ones(2, 2)
    assert (t + np.ones((2, 2))).dtype == np.float32
    assert (np.ones((2, 2)) * t).dtype == np.float32
    assert (t @ np.ones((2, 2))).dtype == np.float32


def test_float64_tensor_with_python_float_stays_float64() -> None:
    t = cr.ones(2, dtype="float64")
    assert (t * 0.5).dtype == np.float64


def test_complex_and_object_data_are_refused() -> None:
    with pytest.raises(TypeError, match="complex"):
        cr.tensor([1 + 2j])
    with pytest.raises(TypeError):
        cr.tensor([object()])


# ----------------------------------------------------------------------------- attributes
def test_attributes() -> None:
    t = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert t.size == 6
    assert t.dtype == np.float32
    assert t.requires_grad
    assert t.grad is None
    assert t.grad_fn is None and t.is_leaf
    assert len(t) == 2
    assert isinstance(t.numpy(), np.ndarray)
    assert t.numpy() is t.data
    np.testing.assert_array_equal(np.asarray(t), t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert t[1, 2].item() == 6.0
    assert isinstance(t.tolist(), list)


def test_len_of_scalar_and_item_of_vector_fail_clearly() -> None:
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))
    with pytest.raises(ValueError, match="one-element"):
        cr.tensor([1.0, 2.0]).item()


def test_tensor_copies_its_input_array() -> None:
    a = np.ones(3, dtype=np.float32)
    t = cr.tensor(a)
    a[0] = 5
    assert t.data[0] == 1.0


def test_detach_shares_data_and_cuts_the_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None
    z = x * 1
    assert np.shares_memory(z.detach().data, z.data)


def test_zero_grad_forgets_the_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad is not None
    x.zero_grad()
    assert x.grad is None


def test_repr_shows_values_and_the_op() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(x + x).endswith("grad_fn=<AddBackward>)")
    assert repr(x.sum()).endswith("grad_fn=<SumBackward>)")
    assert "dtype=float64" in repr(cr.tensor([1.0], dtype="float64"))
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"


# ----------------------------------------------------------------------------- operators
def test_arithmetic_operators_match_numpy() -> None:
    a = np.array([[1.0, -2.0, 3.0]], dtype=np.float32)
    b = np.array([[2.0], [0.5]], dtype=np.float32)
    ta, tb = cr.tensor(a), cr.tensor(b)
    np.testing.assert_allclose((ta + tb).data, a + b)
    np.testing.assert_allclose((ta - tb).data, a - b)
    np.testing.assert_allclose((ta * tb).data, a * b)
    np.testing.assert_allclose((ta / tb).data, a / b)
    np.testing.assert_allclose((tb**ta).data, b**a, rtol=1e-6)
    np.testing.assert_allclose((ta**2).data, a**2)
    np.testing.assert_allclose((-ta).data, -a)
    np.testing.assert_allclose((+ta).data, a)
    np.testing.assert_allclose(abs(ta).data, np.abs(a))
    np.testing.assert_allclose((tb @ ta).data, b @ a)


def test_reflected_operators_with_scalars_and_arrays() -> None:
    a = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    t = cr.tensor(a)
    np.testing.assert_allclose((1 + t).data, 1 + a)
    np.testing.assert_allclose((1 - t).data, 1 - a)
    np.testing.assert_allclose((3 * t).data, 3 * a)
    np.testing.assert_allclose((1 / t).data, 1 / a)
    np.testing.assert_allclose((2**t).data, 2**a)
    np.testing.assert_allclose((a - t).data, np.zeros(3))
    np.testing.assert_allclose((np.ones((2, 3)) * t).data, np.ones((2, 3)) * a)
    np.testing.assert_allclose((np.ones((2, 3)) @ t).data, np.ones((2, 3)) @ a)
    r = np.ones(3) + t
    assert isinstance(r, cr.Tensor)


def test_reflected_operators_backpropagate() -> None:
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = (3 - x) * (1 / x) + 2**x
    y.sum().backward()
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(x.grad, -1 / xs - (3 - xs) / xs**2 + np.log(2) * 2**xs)


def test_comparisons_give_bool_tensors_without_grad() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [
        (x > 2, [False, False, True]),
        (x >= 2, [False, True, True]),
        (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]),
        (x == 2, [False, True, False]),
        (x != 2, [True, False, True]),
        (x > cr.tensor([0.0, 5.0, 1.0]), [True, False, True]),
    ]:
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.grad_fn is None
        np.testing.assert_array_equal(result.data, expected)
    with pytest.raises(TypeError):
        (x > 1).requires_grad_()


def test_tensors_stay_hashable() -> None:
    x = cr.tensor([1.0])
    assert {x: 1}[x] == 1


def test_methods() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t = cr.tensor(a)
    np.testing.assert_allclose(t.sum(axis=1).data, a.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(t.mean(axis=(0, 2), keepdims=True).data,
                               a.mean(axis=(0, 2), keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(t.max(axis=-1).data, a.max(axis=-1))
    np.testing.assert_allclose(t.min().data, a.min())
    np.testing.assert_allclose(t.var(axis=0, ddof=1).data, a.var(axis=0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(t.std(axis=2).data, a.std(axis=2), rtol=1e-5)
    assert t.reshape(6, 4).shape == (6, 4)
    assert t.reshape((4, -1)).shape == (4, 6)
    assert t.view(-1).shape == (24,)
    assert t.flatten(1).shape == (2, 12)
    assert t.transpose(2, 0, 1).shape == (4, 2, 3)
    assert t.permute(1, 0, 2).shape == (3, 2, 4)
    assert t.T.shape == (4, 3, 2)
    assert t[:, None].shape == (2, 1, 3, 4)
    assert t.unsqueeze(0).shape == (1, 2, 3, 4)
    assert t.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    assert cr.ones(3, 1).expand(3, 5).shape == (3, 5)
    assert cr.ones(1, 4).broadcast_to((2, 4)).shape == (2, 4)
    np.testing.assert_array_equal(t.argmax(axis=1).data, a.argmax(axis=1))
    np.testing.assert_array_equal(t.argmin(axis=1).data, a.argmin(axis=1))
    assert t.double().dtype == np.float64 and t.double().float().dtype == np.float32
    np.testing.assert_allclose(t.clip(-0.5, 0.5).data, np.clip(a, -0.5, 0.5))
    np.testing.assert_allclose(t.abs().exp().log().data, np.abs(a), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.abs().sqrt().data, np.sqrt(np.abs(a)), rtol=1e-6)
    np.testing.assert_allclose(t.relu().data, np.maximum(a, 0))
    np.testing.assert_allclose(t.tanh().data, np.tanh(a), rtol=1e-6)
    np.testing.assert_allclose(t.sigmoid().data, 1 / (1 + np.exp(-a)), rtol=1e-6)
    np.testing.assert_allclose(
        t.logsumexp(axis=1).data, np.log(np.exp(a).sum(axis=1)), rtol=1e-6
    )


def test_iteration_and_conversion() -> None:
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    assert float(cr.tensor(2.5)) == 2.5
    assert int(cr.tensor(3)) == 3
    assert bool(cr.tensor(1.0))


# ----------------------------------------------------------------------------- factories
def test_factories() -> None:
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros(2, 3).data.sum() == 0
    assert cr.zeros((2, 3)).shape == (2, 3)
    assert cr.ones(4).data.sum() == 4 and cr.ones(4).dtype == np.float32
    assert cr.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert cr.full((2, 2), 7.0).dtype == np.float32
    assert cr.arange(5).data.tolist() == [0, 1, 2, 3, 4]
    assert cr.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert cr.linspace(0, 1, 5).data.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    np.testing.assert_array_equal(cr.eye(3).data, np.eye(3))
    assert cr.eye(2, 3).shape == (2, 3)
    like = cr.ones(2, 3, dtype="float64")
    for f in (cr.zeros_like, cr.ones_like, cr.rand_like, cr.randn_like):
        out = f(like)
        assert out.shape == (2, 3) and out.dtype == np.float64
    assert cr.full_like(like, 3.0).data.max() == 3.0
    assert cr.zeros(2, requires_grad=True).requires_grad


def test_random_factories_are_seeded() -> None:
    cr.manual_seed(123)
    a, b = cr.rand(3, 4), cr.randn(5)
    cr.manual_seed(123)
    np.testing.assert_array_equal(a.data, cr.rand(3, 4).data)
    np.testing.assert_array_equal(b.data, cr.randn(5).data)
    assert a.dtype == np.float32 and 0 <= a.data.min() and a.data.max() < 1
    assert isinstance(cr.get_rng(), np.random.Generator)


def test_rng_state_round_trip() -> None:
    from chainrule.random import get_rng_state, set_rng_state

    state = get_rng_state()
    first = cr.randn(4).data
    set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(4).data, first)
