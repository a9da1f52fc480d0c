"""batch_norm: gradcheck in training and evaluation, PyTorch conformance (values, gradients
and running statistics), the same numbers as BatchNorm1d had, state restored after tracing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
from chainrule.function import restoring_state

EXAMPLES = settings(max_examples=15, deadline=None, derandomize=True)

shapes = st.sampled_from([(4, 3), (3, 2, 4), (2, 3, 3, 2), (3, 1, 2, 2), (2, 4, 1, 3)])


def _stats(c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(c), np.ones(c), np.array(0, dtype=np.int64)


@EXAMPLES
@given(shape=shapes, training=st.booleans(), affine=st.booleans(), seed=st.integers(0, 2**16))
def test_gradcheck(shape: tuple, training: bool, affine: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    params = [rng.standard_normal(c), rng.standard_normal(c)] if affine else []

    def run(t: cr.Tensor, *wb: cr.Tensor) -> cr.Tensor:
        w, b = wb if wb else (None, None)
        # a copy of the running statistics per call: the numerical gradient calls it often
        return F.batch_norm(t, mean.copy(), var.copy(), w, b, training=training)

    assert cr.gradcheck(run, [x, *params], seed=seed)


@pytest.mark.torch
@EXAMPLES
@given(shape=shapes, momentum=st.sampled_from([0.1, 0.3, None]), seed=st.integers(0, 2**16))
def test_matches_torch_including_running_statistics(shape: tuple, momentum: Any,
                                                    seed: int) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    c = shape[1]
    mean, var, tracked = _stats(c)
    tmean, tvar = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    for step in range(3):
        training = step < 2
        x = rng.standard_normal(shape) * 3 + step
        xt = cr.tensor(x, dtype="float64", requires_grad=True)
        wt, bt = (cr.tensor(v, dtype="float64", requires_grad=True) for v in (w, b))
        out = F.batch_norm(xt, mean, var, wt, bt, training, momentum,
                           num_batches_tracked=tracked)
        tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
        factor = momentum if momentum is not None else 1.0 / (step + 1)
        expected = torch.nn.functional.batch_norm(tx, tmean, tvar, tw, tb, training, factor)
        up = rng.standard_normal(out.shape)
        out.backward(up)
        expected.backward(torch.tensor(up))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-10)
        for ours, theirs in ((xt, tx), (wt, tw), (bt, tb)):
            np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(mean, tmean.numpy(), atol=1e-12)
        np.testing.assert_allclose(var, tvar.numpy(), atol=1e-12)
    assert int(tracked) == 2


def test_same_numbers_as_numpy_mean_and_var() -> None:
    """The statistics are NumPy's ``x.mean`` and ``x.var`` bit for bit (BatchNorm1d's)."""
    x = np.random.default_rng(0).standard_normal((16, 5, 3)).astype(np.float32) * 3 + 2
    mean, var = np.zeros(5, np.float32), np.ones(5, np.float32)
    out = F.batch_norm(cr.tensor(x), mean, var, training=True, momentum=1.0)
    np.testing.assert_array_equal(mean, x.mean(axis=(0, 2)))
    np.testing.assert_array_equal(var, x.var(axis=(0, 2)) * np.float32(48 / 47))
    m, v = x.mean(axis=(0, 2), keepdims=True), x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_array_equal(out.data, (x - m) * (1.0 / np.sqrt(v + 1e-5)))


def test_tracing_restores_the_running_statistics() -> None:
    mean, var, tracked = _stats(2)
    with restoring_state():
        F.batch_norm(cr.randn(4, 2), mean, var, training=True, num_batches_tracked=tracked)
        assert mean.any() and int(tracked) == 1
    np.testing.assert_array_equal(mean, np.zeros(2))
    np.testing.assert_array_equal(var, np.ones(2))
    assert int(tracked) == 0


def test_evaluation_and_errors() -> None:
    mean, var = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    out = F.batch_norm(cr.tensor(np.ones((3, 2)), dtype="float64"), mean, var, eps=0.0)
    np.testing.assert_allclose(out.data, np.tile([0.0, 4.0], (3, 1)))
    with pytest.raises(cr.ShapeError, match=r"batch_norm: weight of shape \(3,\) does not fit "
                                            r"input of shape \(4, 2, 5, 5\) \(2 channels\)"):
        F.batch_norm(cr.randn(4, 2, 5, 5), None, None, cr.randn(3), training=True)
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        F.batch_norm(cr.randn(1, 2, 1, 1), None, None, training=True)
    with pytest.raises(ValueError, match=r"momentum=None .* needs num_batches_tracked"):
        F.batch_norm(cr.randn(4, 2), np.zeros(2), np.ones(2), training=True, momentum=None)
    with pytest.raises(cr.ShapeError, match=r"batch_norm: expected an input with a channel axis"):
        F.batch_norm(cr.randn(4), None, None, training=True)
