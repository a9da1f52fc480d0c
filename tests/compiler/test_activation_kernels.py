"""Each activation kernel (and dropout's) gives the eager op's numbers, in both layouts."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from tests.compiler.equivalence import batches, compare, param

ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu": lambda h: F.leaky_relu(h, 0.1),
    "elu": lambda h: F.elu(h, 0.7),
    "tanh": F.tanh,
    "sigmoid": F.sigmoid,
    "dropout": lambda h: F.dropout(h, 0.4),
    "maxout": lambda h: F.maxout(h, 2),
}


def _net(act, hidden: int, width_in: int, classes: int):
    def build():
        w1, b1 = param(hidden, width_in, seed=1), param(hidden, seed=2)
        out = hidden // 2 if act is ACTIVATIONS["maxout"] else hidden
        w2, b2 = param(classes, out, seed=3), param(classes, seed=4)
        return [w1, b1, w2, b2], lambda x, y: F.cross_entropy(
            F.linear(act(F.linear(x, w1, b1)), w2, b2), y)
    return build


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize(("n", "hidden", "layout"), [(8, 6, "columns"), (64, 400, "rows")])
def test_kernel_matches_the_eager_op(name: str, n: int, hidden: int, layout: str) -> None:
    step = compare(_net(ACTIVATIONS[name], hidden, 30, 5), batches(3, n, 30, 5))
    assert f"# node 1: {name.replace('_', '')}, {layout}" in step.source
    assert "own forward/backward" not in step.source


def test_sigmoid_is_stable_where_exp_overflows() -> None:
    def build():
        w = param(3, 2)
        return [w], lambda x, y: F.cross_entropy(F.sigmoid(F.linear(x, w) * 400.0), y)

    step = compare(build, [(np.array([[3.0, -2.0], [-4.0, 1.0]]), np.array([0, 2]))])
    assert "sigmoid" in step.source


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize(("n", "hidden", "layout"), [(6, 7, "columns"), (64, 700, "rows")])
def test_prelu_learns_its_slopes_as_eager(shared: bool, n: int, hidden: int,
                                          layout: str) -> None:
    def build():
        w = param(hidden, 5, seed=1)
        a = cr.nn.Parameter(np.full(1 if shared else hidden, 0.25))
        v = param(3, hidden, seed=2)
        return [w, a, v], lambda x, y: F.cross_entropy(
            F.linear(F.prelu(F.linear(x, w), a), v), y)

    step = compare(build, batches(3, n, 5, 3))
    assert f"prelu, {layout}" in step.source


def test_maxout_ties_share_the_gradient_evenly() -> None:
    # Pieces that are equal (a zero weight row pair) tie on every example.
    def build():
        w = cr.nn.Parameter(np.array([[1.0, 2.0], [1.0, 2.0], [0.5, -1.0], [3.0, 0.0]]))
        v = param(2, 2, seed=5)
        return [w, v], lambda x, y: F.cross_entropy(F.linear(F.maxout(F.linear(x, w), 2), v), y)

    step = compare(build, batches(3, 5, 2, 2))
    assert "maxout, columns" in step.source


def test_dropout_draws_a_new_mask_on_every_call_from_the_eager_stream() -> None:
    # compare() seeds eager and compiled steps alike: equal losses mean equal masks
    step = compare(_net(ACTIVATIONS["dropout"], 16, 4, 3), batches(4, 10, 4, 3))
    x, y = batches(1, 10, 4, 3, seed=9)[0]
    masks = []
    for _ in range(2):
        step(x, y)
        masks.append(next(v for k, v in step.plan.run.__globals__.items()
                          if k.startswith("mask")).copy())
    assert not np.array_equal(*masks)  # drawn anew, not frozen by the trace


def test_dropout_p_one_is_replayed_by_the_op_itself() -> None:
    def build():
        w, v = param(4, 3, seed=1), param(2, 4, seed=2)
        return [w, v], lambda x, y: F.cross_entropy(
            F.linear(F.dropout(F.linear(x, w), 1.0), v) + F.linear(x, w)[:, :2], y)

    step = compare(build, batches(2, 6, 3, 2))
    assert "dropout (its own forward/backward)" in step.source
