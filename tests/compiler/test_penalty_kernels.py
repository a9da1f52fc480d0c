"""The weight penalty's kernel: its value, and its gradient added to the layers' in place."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule import nn
from tests.compiler.equivalence import batches, compare, param

PENALTIES = {"l2": nn.l2_penalty, "l1": nn.l1_penalty}


@pytest.mark.parametrize("norm", list(PENALTIES))
@pytest.mark.parametrize(("sizes", "n"), [((6, 5, 4), 8), ((30, 600, 7), 64)])
def test_penalty_kernel_matches_eager(norm: str, sizes: tuple, n: int) -> None:
    def build():
        model = nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1]).to(np.float64)
        return list(model.parameters()), lambda x, y: (
            F.cross_entropy(model(x), y) + PENALTIES[norm](model, 1e-2))

    step = compare(build, batches(3, n, sizes[0], sizes[-1]))
    assert "weight penalty" in step.source and "own forward/backward" not in step.source


def test_the_layers_write_first_and_the_penalty_adds_last() -> None:
    def build():
        model = nn.MLP(30, [600], 7).to(np.float64)
        return list(model.parameters()), lambda x, y: (
            F.cross_entropy(model(x), y) + nn.l2_penalty(model, 1e-2))

    step = compare(build, batches(2, 64, 30, 7))
    last_node = step.source[step.source.rindex("# backward of node"):]
    assert "weight penalty" in last_node.splitlines()[0]
    assert "add_scaled" in last_node  # one axpy per weight, into its gradient
    assert ".fill(0)" not in step.source  # the layers' dW came first


def test_a_weight_only_the_penalty_sees_starts_from_zero() -> None:
    def build():
        w, unused = param(3, 4, seed=1), param(2, 2, seed=2)
        return [w, unused], lambda x, y: (F.cross_entropy(F.linear(x, w), y)
                                          + cr.ops.l2_penalty([w, unused], 0.1))

    step = compare(build, batches(3, 5, 4, 3))
    assert ".fill(0)" in step.source


def test_a_frozen_weight_counts_in_the_value_but_gets_no_gradient() -> None:
    def build():
        w, frozen = param(3, 4, seed=1), param(4, 4, seed=2).requires_grad_(False)
        return [w], lambda x, y: (F.cross_entropy(F.linear(x, w), y)
                                  + cr.ops.l1_penalty([w, frozen], 0.1))

    step = compare(build, batches(3, 5, 4, 3))
    assert "weight penalty (L1" in step.source
