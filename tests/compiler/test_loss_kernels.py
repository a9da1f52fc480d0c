"""The SVM loss and the mean squared error as kernels: the eager losses' numbers."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from tests.compiler.equivalence import batches, compare, param


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("n", "classes", "layout"), [(8, 4, "columns"), (400, 40, "rows")])
def test_svm_kernel_matches_the_eager_loss(reduction: str, n: int, classes: int,
                                           layout: str) -> None:
    def build():
        w, b = param(classes, 50, seed=1), param(classes, seed=2)
        return [w, b], lambda x, y: F.multiclass_hinge_loss(F.linear(x, w, b), y, margin=0.5,
                                                            reduction=reduction)

    step = compare(build, batches(3, n, 50, classes), lr=0.01)
    assert f"SVM loss, {layout}" in step.source


def test_svm_kernel_of_scores_whose_layout_it_does_not_know() -> None:
    def build():
        w = param(5, 6)
        return [w], lambda x, y: F.multiclass_hinge_loss(F.linear(x, w) * 2.0, y)

    step = compare(build, batches(3, 9, 6, 5))
    assert "SVM loss, rows" in step.source


def test_svm_kernel_checks_labels_on_every_replay() -> None:
    w = param(3, 4)
    step = cr.compile(lambda x, y: F.multiclass_hinge_loss(F.linear(x, w), y),
                      cr.optim.SGD([w], lr=0.1))
    x, y = batches(1, 6, 4, 3)[0]
    step(x, y)
    y[2] = 3
    with pytest.raises(IndexError, match="multiclass_hinge_loss: label 3 is out of range"):
        step(x, y)


def test_svm_without_reduction_is_replayed_by_the_op() -> None:
    def build():
        w = param(3, 4)
        return [w], lambda x, y: F.multiclass_hinge_loss(F.linear(x, w), y,
                                                         reduction="none").sum()

    step = compare(build, batches(2, 6, 4, 3))
    assert "multiclasshinge (its own forward/backward)" in step.source


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_kernel_matches_the_eager_loss(reduction: str) -> None:
    def build():
        w, b = param(1, 3, seed=1), param(1, seed=2)
        return [w, b], lambda x, t: F.mse_loss(F.linear(x, w, b), t.reshape(-1, 1),
                                               reduction=reduction)

    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((10, 3)), rng.standard_normal(10)) for _ in range(3)]
    step = compare(build, data, lr=0.05)
    assert "squared error" in step.source and "reshape to (10, 1)" in step.source


def test_mse_kernel_gives_the_target_its_negated_gradient() -> None:
    def build():
        w, v = param(2, 3, seed=1), param(2, 3, seed=2)
        return [w, v], lambda x: F.mse_loss(F.linear(x, w), F.tanh(F.linear(x, v)))

    step = compare(build, batches(3, 7, 3))
    assert "_negative(" in step.source
