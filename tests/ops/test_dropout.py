"""F.dropout and F.dropout2d: one gate each, the mask drawn in forward from chainrule's RNG."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F


def _seeded_dropout(p: float):
    def fn(x: cr.Tensor) -> cr.Tensor:
        cr.manual_seed(3)  # the same mask on every call, so centered differences apply
        return F.dropout(x, p)

    return fn


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_gradcheck(p: float) -> None:
    assert cr.gradcheck(_seeded_dropout(p), [np.random.default_rng(0).standard_normal((5, 7))])


def test_scales_survivors_and_backward_uses_the_same_mask() -> None:
    x = cr.ones(2000, requires_grad=True)
    y = F.dropout(x, 0.25)
    kept = y.data != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.data[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)


def test_eval_and_zero_p_pass_through_and_bad_p_is_refused() -> None:
    x = cr.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="probability"):
        F.dropout(x, 1.5)


def test_seed_reproduces_masks() -> None:
    cr.manual_seed(7)
    a = F.dropout(cr.ones(50), 0.5).data
    cr.manual_seed(7)
    b = F.dropout(cr.ones(50), 0.5).data
    np.testing.assert_array_equal(a, b)


def test_dropout2d_drops_whole_channels_and_scales_the_rest() -> None:
    x = cr.ones(8, 16, 3, 3, requires_grad=True)
    out = F.dropout2d(x, 0.5)
    per_channel = out.data.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # a map is kept whole
    assert 0 < (per_channel[:, :, 0] == 0).sum() < 8 * 16
    out.backward(np.ones(out.shape, np.float32))
    np.testing.assert_array_equal(x.grad, out.data)  # the same mask routes the gradient
    assert F.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(cr.ShapeError, match=r"dropout2d: expected a batch of images"):
        F.dropout2d(cr.ones(4, 3), 0.5)
    with pytest.raises(ValueError, match=r"dropout2d: probability p must be in \[0, 1\]"):
        F.dropout2d(x, 1.5)
