"""Bad input: every error names the op, what it expected and what it got."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F


def test_matmul_inner_dimension_message_is_exact() -> None:
    with pytest.raises(cr.ShapeError) as info:
        cr.matmul(cr.ones(2, 3), cr.ones(4, 5))
    assert str(info.value) == "matmul: (2, 3) @ (4, 5): inner dimensions 3 and 4 differ"
    with pytest.raises(cr.ShapeError, match=r"matmul: \(3,\) @ \(4,\)"):
        cr.ones(3) @ cr.ones(4)
    with pytest.raises(cr.ShapeError, match="batch dimensions"):
        cr.ones(2, 3, 4) @ cr.ones(3, 4, 5)
    with pytest.raises(cr.ShapeError, match="at least one dimension"):
        cr.tensor(2.0) @ cr.ones(3)


def test_shape_error_is_runtime_and_value_error() -> None:
    # PyTorch raises RuntimeError for bad shapes, NumPy ValueError: both catch it.
    assert issubclass(cr.ShapeError, RuntimeError)
    assert issubclass(cr.ShapeError, ValueError)
    assert issubclass(cr.ShapeError, cr.ChainruleError)


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: cr.ones(2, 3) + cr.ones(4), r"add: operands of shapes \(2, 3\) and \(4,\)"),
        (lambda: cr.ones(2, 3) * cr.ones(3, 2), r"mul: operands of shapes \(2, 3\) and \(3, 2\)"),
        (lambda: cr.ones(3) - cr.ones(2), r"sub: operands of shapes \(3,\) and \(2,\)"),
        (lambda: cr.ones(3) / cr.ones(2), r"div: operands of shapes \(3,\) and \(2,\)"),
        (lambda: cr.ones(3) ** cr.ones(2), r"pow: operands of shapes \(3,\) and \(2,\)"),
        (lambda: cr.maximum(cr.ones(3), cr.ones(2)), r"maximum: operands of shapes"),
        (lambda: cr.where(cr.ones(3) > 0, cr.ones(2), 0.0), r"where: .*\(3,\).*\(2,\)"),
        (lambda: cr.ones(2, 3).reshape(4, 2), r"reshape: cannot reshape .* \(2, 3\)"),
        (lambda: cr.ones(2, 3).expand(4, 3), r"broadcast_to: cannot broadcast shape \(2, 3\)"),
        (lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 4)]), r"concatenate: shapes"),
        (lambda: cr.stack([cr.ones(2), cr.ones(3)]), r"stack: shapes"),
        (lambda: cr.ones(2, 3).transpose(0, 0), r"transpose: axes"),
        (lambda: cr.ones(2, 3).sum(axis=2), r"sum: axis 2 is out of range"),
        (lambda: F.linear(cr.ones(2, 3), cr.ones(4, 5)), r"linear: input of shape \(2, 3\)"),
        (lambda: F.linear(cr.ones(2, 5), cr.ones(4, 5), cr.ones(3)), r"linear: bias of shape"),
        (lambda: F.mse_loss(cr.ones(2, 3), cr.ones(3)), r"mse_loss: prediction of shape"),
        (lambda: F.cross_entropy(cr.ones(2, 3), [0, 1, 2]), r"cross_entropy: scores of shape"),
        (lambda: F.maxout(cr.ones(2, 5), 2), r"maxout: the last axis has 5 features"),
        (lambda: F.prelu(cr.ones(2, 3), cr.ones(2)), r"prelu: weight of shape \(2,\)"),
    ],
)
def test_shape_errors_name_the_op_and_the_shapes(make: object, pattern: str) -> None:
    with pytest.raises(cr.ShapeError, match=pattern):
        make()


def test_integer_tensor_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match=r"only floating-point tensors .* int64"):
        cr.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        cr.zeros(3, dtype="int32", requires_grad=True)


def test_backward_twice_through_a_freed_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*"
                       r"retain_graph=True"):
        y.backward()


def test_saved_tensors_after_free_are_refused() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Mul: trying to backward"):
        _ = y.grad_fn.saved_tensors


def test_non_scalar_backward_says_what_to_pass() -> None:
    y = cr.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\), not a scalar.*pass upstream=") as e:
        y.backward()
    assert "ones_like" in str(e.value)


def test_upstream_of_the_wrong_shape() -> None:
    y = cr.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"upstream gradient of shape \(4,\) does not match"):
        y.backward(np.ones(4))


def test_backward_of_a_tensor_without_graph() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.ones(3).sum().backward()


def test_requires_grad_off_on_a_non_leaf() -> None:
    y = cr.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


def test_losses_check_their_labels() -> None:
    with pytest.raises(TypeError, match="labels must be integers"):
        F.cross_entropy(cr.ones(2, 3), [0.0, 1.0])
    with pytest.raises(IndexError, match="label 3 is out of range for 3 classes"):
        F.multiclass_hinge_loss(cr.ones(2, 3), [0, 3])
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(cr.ones(2, 3), [0, 1], reduction="avg")


def test_bad_operands_and_arguments() -> None:
    with pytest.raises(TypeError, match="unsupported operand"):
        cr.ones(2) + object()
    with pytest.raises(ValueError, match="clip: give at least one"):
        cr.clip(cr.ones(2))
    with pytest.raises(IndexError, match=r"tensor of shape \(2,\)"):
        cr.ones(2)[5]
    with pytest.raises(ValueError, match="var: 1 elements are too few for ddof=1"):
        cr.ones(1).var(ddof=1)
    with pytest.raises(ValueError, match="max: cannot reduce an empty tensor"):
        cr.ones(0).max()
    with pytest.raises(cr.ShapeError, match="unsqueeze: axis 3"):
        cr.ones(2).unsqueeze(3)


def test_op_without_differentiable_backward_refuses_create_graph() -> None:
    class Plain(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            return x * 2

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            return upstream * 2

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Plain does not support create_graph=True"):
        cr.grad(Plain.apply(x).sum(), x, create_graph=True)


def test_gradcheck_failure_names_input_element_and_values() -> None:
    class Wrong(cr.Function):
        @staticmethod
        def forward(ctx: cr.Context, x: np.ndarray) -> np.ndarray:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: cr.Context, upstream: np.ndarray) -> np.ndarray:
            (x,) = ctx.saved_tensors
            return upstream * x  # should be 2x

    with pytest.raises(cr.GradcheckError, match=r"input 0 \(shape \(3,\)\), element \(\d,\): "
                       r"analytic .* vs numerical .*relative error"):
        cr.gradcheck(Wrong.apply, [np.array([1.0, 2.0, 3.0])])


def test_upstream_of_another_shape_is_refused_not_reshaped() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x * 2
    with pytest.raises(cr.ShapeError, match=r"upstream gradient of shape \(3, 1\)"):
        y.backward(np.ones((3, 1)))
    y.backward(np.ones((1, 3)))
    np.testing.assert_array_equal(x.grad, [[2.0, 2.0, 2.0]])
