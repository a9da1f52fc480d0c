"""nn.Conv2d: PyTorch's parameter names, shapes and initialization; same outputs and
gradients as torch.nn.Conv2d with the same weights; errors that name the layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3, "padding": 1},
    {"kernel_size": (3, 2), "stride": 2, "padding": (1, 0), "dilation": (1, 2), "bias": False},
    {"kernel_size": 3, "groups": 2, "padding": "same"},
    {"kernel_size": 1},
])
def test_matches_torch_with_the_same_weights(kwargs: dict) -> None:
    layer = nn.Conv2d(4, 6, **kwargs).double()
    tlayer = torch.nn.Conv2d(4, 6, **kwargs).double()
    assert list(layer.state_dict()) == list(tlayer.state_dict())
    tlayer.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 8))
    xt = cr.tensor(x, dtype="float64", requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, expected = layer(xt), tlayer(tx)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-12)
    up = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(up)
    expected.backward(torch.tensor(up))
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-12)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, dict(tlayer.named_parameters())[name].grad.numpy(),
                                   atol=1e-11)


def test_initialization_is_pytorchs() -> None:
    layer = nn.Conv2d(16, 32, 3)
    assert layer.weight.shape == (32, 16, 3, 3) and layer.weight.dtype == np.float32
    bound = 1 / math.sqrt(16 * 9)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.9 * bound  # spread over the whole range
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert nn.Conv2d(6, 4, 3, groups=2).weight.shape == (4, 3, 3, 3)


def test_repr_and_errors() -> None:
    assert repr(nn.Conv2d(3, 8, 3, padding=1, bias=False)) == (
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)")
    layer = nn.Conv2d(3, 8, 3)
    with pytest.raises(cr.ShapeError, match=r"Conv2d\(3, 8, .*\): expected input of shape "
                                            r"\(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        layer(cr.randn(2, 4, 5, 5))
    with pytest.raises(cr.ShapeError, match=r"conv2d: input of shape \(1, 3, 2, 2\) is too small"):
        layer(cr.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match="Conv2d: groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding must be"):
        nn.Conv2d(3, 8, 3, padding="full")
