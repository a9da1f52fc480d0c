"""The backward walk checks what each backward returns and what ``.grad`` holds."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError


def _returning(value_of):
    """A Function whose backward returns ``value_of(upstream)`` for its one input."""

    class Returns(cr.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, upstream):
            return value_of(upstream)

    return Returns


@pytest.mark.parametrize(("value_of", "said"), [
    (lambda up: 1.5, "a float (1.5)"),
    (lambda up: "oops", "a str"),
    (lambda up: {"grad": up}, "a dict"),
    (lambda up: np.ones((4, 3)), "shape (4, 3)"),             # summable, but wrong
    (lambda up: np.ones((1, 3, 1)), "shape (1, 3, 1)"),
    (lambda up: np.ones(2), "shape (2,)"),
    (lambda up: np.float64(1.0), "shape ()"),
    (lambda up: np.array(["a", "b", "c"]), "dtype <U1"),
])
def test_a_backward_returning_no_gradient_is_named(value_of, said) -> None:
    fn = _returning(value_of)
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ShapeError) as info:
        fn.apply(x).sum().backward()
    message = str(info.value)
    assert "Returns.backward returned" in message and said in message
    assert "input 0 of shape (3,)" in message and "\n" not in message
    assert x.grad is None


def test_the_checks_hold_in_every_mode_of_the_walk() -> None:
    fn = _returning(lambda up: np.ones((4, 3)))
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ShapeError, match=r"Returns\.backward"):
        cr.grad(fn.apply(x).sum(), x)


def test_broadcast_gradients_are_still_summed_by_the_engine() -> None:
    class Add(cr.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, upstream):
            return upstream, upstream  # the output's shape for both: the engine sums

    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    for shape, want in [((3,), [2.0] * 3), ((2, 1), [[3.0], [3.0]]), ((1, 3), [[2.0] * 3])]:
        b = cr.tensor(np.zeros(shape), requires_grad=True)
        Add.apply(a, b).sum().backward()
        np.testing.assert_array_equal(b.grad, want)
    x = cr.tensor(np.ones((5, 2, 3)), requires_grad=True)
    w = cr.tensor(np.ones((3, 4)), requires_grad=True)  # batched matmul sums over the batch
    (x @ w).sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((3, 4), 10.0))


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((3, 1)), [0.0, 0.0, 0.0], 1.0])
def test_a_hand_set_grad_of_the_wrong_kind_is_one_clear_error(bad) -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.grad = bad
    with pytest.raises(ShapeError, match=r"of shape \(3,\) has a \.grad that is"):
        (x * x).sum().backward()
    opt = cr.optim.SGD([x], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: gradient of shape .* does not match"):
        opt.step()
