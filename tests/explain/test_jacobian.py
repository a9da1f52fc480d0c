"""explain_jacobian: the explicit Jacobian, the product with it, and backprop's product."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import ExplainError
from chainrule.explain.expr import ELEMENTWISE_FUNCTIONS
from chainrule.explain.jacobian import JacobianReport, explain_jacobian


def test_relu_the_lecture_example() -> None:
    r = explain_jacobian("relu", {"x": [1, -2, 3, -1]}, upstream=[4, -1, 5, 9])
    assert (r.expression, r.variable) == ("relu(x)", "x")
    np.testing.assert_array_equal(r.z, [1, 0, 3, 0])
    np.testing.assert_array_equal(r.jacobian, np.diag([1.0, 0, 1, 0]))
    np.testing.assert_array_equal(r.explicit, [4, 0, 5, 0])
    np.testing.assert_array_equal(r.implicit, [4, 0, 5, 0])
    assert r.is_diagonal


@pytest.mark.parametrize("name", ELEMENTWISE_FUNCTIONS)
def test_every_elementwise_function_has_a_diagonal_jacobian(name: str) -> None:
    x = np.array([0.5, 1.5, 2.0])
    r = explain_jacobian(name, {"x": x})
    fn = getattr(cr, name)
    assert r.is_diagonal and r.jacobian.dtype == np.float64
    np.testing.assert_allclose(r.z, fn(cr.tensor(x, dtype="float64")).data)
    np.testing.assert_allclose(r.explicit, r.implicit.reshape(-1), rtol=1e-12)
    np.testing.assert_array_equal(r.upstream, np.ones(3))  # default dL/dz: ones


def test_an_expression_of_one_variable_has_a_full_jacobian() -> None:
    r = explain_jacobian(" x * x + sum(x) ", {"x": [[1, 2], [3, 4]]}, upstream=[1, 2, 3, 4])
    assert r.expression == "x * x + sum(x)" and not r.is_diagonal
    np.testing.assert_array_equal(r.jacobian, np.ones((4, 4)) + np.diag([2.0, 4, 6, 8]))
    assert r.explicit.shape == (4,) and r.implicit.shape == (2, 2)  # flat, and x's shape
    np.testing.assert_allclose(r.explicit, r.implicit.reshape(-1))
    np.testing.assert_array_equal(r.upstream, [1, 2, 3, 4])  # as given


def test_a_reduction_is_a_row() -> None:
    r = explain_jacobian("sum(y * y)", {"y": [1.0, -2.0]})
    assert r.jacobian.shape == (1, 2) and not r.is_diagonal
    np.testing.assert_array_equal(r.implicit, [2, -4])


def test_text_is_what_the_command_prints() -> None:
    text = explain_jacobian("relu", {"x": [1, -2]}, upstream=[3, 4]).text(1)
    assert text.splitlines() == [
        "z = relu(x) at x = [1.0, -2.0]",
        "z = [1.0, 0.0]",
        "",
        "explicit Jacobian dz/dx (2 x 2, 1 of 4 entries non-zero):",
        "[[1.0 0.0]",
        " [0.0 0.0]]",
        "",
        "upstream dL/dz = [3.0, 4.0]",
        "explicit product  dL/dx = (dL/dz) J = [3.0, 0.0]",
        "implicit product  dL/dx = backward(upstream) = [3.0, 0.0]",
        "The Jacobian is diagonal: backprop never forms it and multiplies elementwise, "
        "dL/dx = dL/dz * diag(J).",
    ]
    full = explain_jacobian("x * sum(x)", {"x": [1, 2]}).text()
    assert full.endswith("Backprop never forms the Jacobian; each gate's backward computes "
                         "the product.")


def test_a_report_is_a_plain_record() -> None:
    r = explain_jacobian("exp", {"t": 0.0})
    assert isinstance(r, JacobianReport) and r.variable == "t" and r.jacobian.shape == (1, 1)
    assert r.is_diagonal  # 1 x 1


@pytest.mark.parametrize(("function", "values", "upstream", "message"), [
    ("relu", {"x": 1, "y": 2}, None, "explain --jacobian relu: give exactly one value"),
    ("x * y", {"x": 1, "y": 2}, None, r"must use exactly one variable, not \['x', 'y'\]"),
    ("2 * x", {"y": 1}, None, r"no value given for x \(--values x=...\)"),
    ("relu", {"x": [1, 2]}, [1, 2, 3], "--upstream has 3 numbers, the output has 2"),
    ("x.real", {"x": 1}, None, "refused expression"),
])
def test_mistakes_are_explain_errors(function: str, values: dict, upstream: object,
                                     message: str) -> None:
    with pytest.raises(ExplainError, match=message):
        explain_jacobian(function, values, upstream)
