"""The add gate's kernel: scalars (a loss and its penalty) and arrays of one shape."""

from __future__ import annotations

import chainrule.functional as F
from tests.compiler.equivalence import batches, compare, param


def test_adding_two_losses() -> None:
    def build():
        w = param(3, 4)
        return [w], lambda x, y: F.cross_entropy(F.linear(x, w), y) + (w * w).sum()

    step = compare(build, batches(3, 6, 4, 3))
    assert "# node 4: add" in step.source


def test_adding_arrays_of_one_shape_hands_the_gradient_to_both() -> None:
    def build():
        w, v = param(3, 4, seed=1), param(3, 4, seed=2)
        return [w, v], lambda x, y: F.cross_entropy(F.linear(x, w) + F.linear(x, v), y)

    step = compare(build, batches(3, 6, 4, 3))
    assert "# node 2: add" in step.source


def test_broadcasting_adds_are_replayed_by_the_op() -> None:
    def build():
        w, b = param(3, 4, seed=1), param(3, seed=2)
        return [w, b], lambda x, y: F.cross_entropy(F.linear(x, w) + b, y)

    step = compare(build, batches(3, 6, 4, 3))
    assert "add (its own forward/backward)" in step.source
