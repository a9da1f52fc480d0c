"""Batch norm's kernel: training and evaluation, its running statistics as eager."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule import nn
from tests.compiler.equivalence import batches, param


def _pair(n_features: int, **bn: object) -> tuple:
    models = []
    for _ in range(2):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, n_features), nn.BatchNorm1d(n_features, **bn),
                              nn.ReLU(), nn.Linear(n_features, 3)).to(np.float64)
        model[1].running_mean[:] = np.linspace(-1, 1, n_features)
        model[1].running_var[:] = np.linspace(0.5, 2, n_features)
        models.append(model)
    return models


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(("n", "features", "layout"), [(8, 6, "columns"), (64, 600, "rows")])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"momentum": None}])
def test_kernel_matches_eager_with_its_running_statistics(mode: str, n: int, features: int,
                                                          layout: str, options: dict) -> None:
    eager, fast = _pair(features, **options)
    for m in (eager, fast):
        m.train(mode == "train")
    opt_e = cr.optim.SGD(eager.parameters(), lr=0.1)
    opt_f = cr.optim.SGD(fast.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: loss_fn(fast(x), y), opt_f, model=fast)
    for x, y in batches(3, n, 5, 3):
        opt_e.zero_grad()
        expected = loss_fn(eager(cr.tensor(x, dtype="float64")), y)
        expected.backward()
        opt_e.step()
        assert step(x, y).item() == pytest.approx(expected.item(), rel=1e-12)
    statistics = "batch statistics" if mode == "train" else "running statistics"
    assert f"batchnorm, {statistics}, {layout}" in step.source
    reference = eager.state_dict()
    for key, value in fast.state_dict().items():
        np.testing.assert_allclose(value, reference[key], rtol=1e-10, atol=1e-12, err_msg=key)
    assert int(fast[1].num_batches_tracked) == (3 if mode == "train" else 0)


def test_a_trace_leaves_the_running_statistics_alone() -> None:
    _, fast = _pair(4)
    before = fast[1].running_mean.copy()
    step = cr.compile(lambda x, y: F.cross_entropy(fast(x), y), None, model=fast)
    x, y = batches(1, 6, 5, 3)[0]
    step(x, y)  # two traces and one replay: one update
    assert int(fast[1].num_batches_tracked) == 1
    batch_mean = (x @ fast[0].weight.data.T + fast[0].bias.data).mean(axis=0)
    np.testing.assert_allclose(fast[1].running_mean, 0.9 * before + 0.1 * batch_mean,
                               rtol=1e-10)


def test_batch_norm_of_three_dimensional_inputs_is_replayed_by_its_op() -> None:
    bn_e, bn_f = nn.BatchNorm1d(3).to(np.float64), nn.BatchNorm1d(3).to(np.float64)
    w_e, w_f = param(4, 3, seed=1), param(4, 3, seed=1)
    step = cr.compile(lambda x: (bn_f(x.reshape(2, 3, 2)).reshape(2, 6) ** 2).sum()
                      + (w_f * w_f).sum(), None, model=bn_f)
    x = np.random.default_rng(0).standard_normal((2, 6))
    for _ in range(2):
        expected = ((bn_e(cr.tensor(x, dtype="float64").reshape(2, 3, 2)).reshape(2, 6) ** 2).sum()
                    + (w_e * w_e).sum())
        assert step(x).item() == pytest.approx(expected.item(), rel=1e-12)
    assert "batchnorm (its own forward/backward)" in step.source
    np.testing.assert_allclose(bn_f.running_var, bn_e.running_var, rtol=1e-12)
