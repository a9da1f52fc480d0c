"""Pooling layers: the same outputs and gradients as torch.nn's, PyTorch's defaults."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(("ours", "theirs"), [
    (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
    (nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
    (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
    (nn.AvgPool2d(3, 1, 1, count_include_pad=False),
     torch.nn.AvgPool2d(3, 1, 1, count_include_pad=False)),
    (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
    (nn.AdaptiveAvgPool2d((3, None)), torch.nn.AdaptiveAvgPool2d((3, None))),
])
def test_matches_torch(ours: nn.Module, theirs: torch.nn.Module) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    xt = cr.tensor(x, dtype="float64", requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), theirs(tx)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-12)
    up = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(up)
    expected.backward(torch.tensor(up))
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-12)
    assert list(ours.parameters()) == [] and ours.state_dict() == {}


def test_defaults_and_repr() -> None:
    pool = nn.MaxPool2d(3)
    assert pool.stride == (3, 3) and pool.padding == (0, 0)
    assert repr(nn.AvgPool2d(2)) == ("AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), "
                                     "ceil_mode=False, count_include_pad=True)")
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
    with pytest.raises(ValueError, match="MaxPool2d: kernel_size must be >= 1"):
        nn.MaxPool2d(0)
