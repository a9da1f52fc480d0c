"""The device move as a gate: values moved, the gradient moved back."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops.device import ToDevice, to_device


def test_to_device_is_a_gate_whose_gradient_goes_back() -> None:
    x = cr.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    y = to_device(x, "array_api_strict")
    assert y.grad_fn is not None and y.grad_fn.fn is ToDevice and y.device == "array_api_strict"
    (y * y * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, -12.0])
    assert type(x.grad) is np.ndarray


def test_second_derivatives_through_a_move() -> None:
    x = cr.tensor([2.0], dtype="float64", requires_grad=True)
    (g,) = cr.grad((to_device(x, "array_api_strict") ** 3).sum(), x, create_graph=True)
    (h,) = cr.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [12.0])  # d2/dx2 x^3 = 6x


def test_no_move_no_node() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x
