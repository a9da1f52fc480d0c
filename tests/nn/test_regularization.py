"""l2_penalty: value, what it skips, and how it relates to the optimizers' weight_decay."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def test_l2_penalty_sums_squared_weights_not_biases() -> None:
    model = nn.MLP(3, [4], 2, batchnorm=True)
    w0, w1 = model[0].weight.data, model[3].weight.data
    expected = 0.1 * ((w0.astype(np.float64) ** 2).sum() + (w1.astype(np.float64) ** 2).sum())
    assert nn.l2_penalty(model, 0.1).item() == pytest.approx(expected, rel=1e-5)
    assert nn.l2_penalty(model, 0.1, half=True).item() == pytest.approx(expected / 2, rel=1e-5)
    names = {id(p) for p in nn.regularized_parameters(model)}
    assert names == {id(model[0].weight), id(model[3].weight)}


def test_l2_penalty_gradient_is_two_lambda_w() -> None:
    layer = nn.Linear(3, 2).double()
    nn.l2_penalty(layer, 0.25).backward()
    np.testing.assert_allclose(layer.weight.grad, 0.5 * layer.weight.data)
    assert layer.bias.grad is None


def test_l2_penalty_edge_cases() -> None:
    assert nn.l2_penalty(nn.ReLU(), 1.0).item() == 0.0
    with pytest.raises(ValueError, match="strength"):
        nn.l2_penalty(nn.Linear(2, 2), -1.0)


@pytest.mark.parametrize("half", [False, True])
def test_weight_decay_equals_l2_penalty_of_half_strength(half: bool) -> None:
    """SGD's weight_decay=wd adds wd W = the gradient of (wd/2) sum W^2."""
    wd = 0.3
    x = np.random.default_rng(0).standard_normal((8, 3))
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1])

    def run(use_decay: bool) -> np.ndarray:
        cr.manual_seed(4)
        layer = nn.Linear(3, 2, bias=False).double()
        opt = optim.SGD(layer.parameters(), lr=0.1, weight_decay=wd if use_decay else 0.0)
        for _ in range(5):
            loss = nn.CrossEntropyLoss()(layer(x), y)
            if not use_decay:
                loss = loss + (nn.l2_penalty(layer, wd, half=True) if half
                               else nn.l2_penalty(layer, wd / 2))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return layer.weight.data

    np.testing.assert_allclose(run(True), run(False), atol=1e-12)
