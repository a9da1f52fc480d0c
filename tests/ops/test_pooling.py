"""Pooling: float64 gradcheck over random windows, PyTorch conformance (ties included), errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F

EXAMPLES = settings(max_examples=20, deadline=None, derandomize=True)


@st.composite
def windows(draw: Any, dilation: bool = True) -> dict:
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = {
        "shape": (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 7)),
                  draw(st.integers(1, 7))),
        "kernel": k,
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))),
        "dilation": (draw(st.integers(1, 2)), 1) if dilation else (1, 1),
        "ceil_mode": draw(st.booleans()),
    }
    for axis in (0, 1):
        extent = p["dilation"][axis] * (k[axis] - 1) + 1
        assume(p["shape"][2 + axis] + 2 * p["padding"][axis] >= extent)
        assume(p["padding"][axis] <= extent // 2)
    return p


def distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values at least 0.05 apart: no ties, so the max is where a small step keeps it."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05).reshape(shape) - n * 0.025


def _max(p: dict) -> Any:
    return lambda x: F.max_pool2d(x, p["kernel"], p["stride"], p["padding"], p["dilation"],
                                  p["ceil_mode"])


def _avg(p: dict, include_pad: bool) -> Any:
    return lambda x: F.avg_pool2d(x, p["kernel"], p["stride"], p["padding"], p["ceil_mode"],
                                  include_pad)


@EXAMPLES
@given(p=windows(), seed=st.integers(0, 2**16))
def test_max_pool_gradcheck(p: dict, seed: int) -> None:
    assert cr.gradcheck(_max(p), [distinct(np.random.default_rng(seed), p["shape"])], seed=seed)


@EXAMPLES
@given(p=windows(dilation=False), include_pad=st.booleans(), seed=st.integers(0, 2**16))
def test_avg_pool_gradcheck(p: dict, include_pad: bool, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(p["shape"])
    assert cr.gradcheck(_avg(p, include_pad), [x], seed=seed)


@EXAMPLES
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 7),
                       st.integers(1, 7)),
       out=st.tuples(st.integers(1, 4), st.integers(1, 4)), seed=st.integers(0, 2**16))
def test_adaptive_avg_pool_gradcheck(shape: tuple, out: tuple, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape)
    assert cr.gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), [x], seed=seed)


def _torch_compare(ours: Any, theirs: Any, x: np.ndarray, atol: float = 1e-12) -> None:
    torch = pytest.importorskip("torch")
    xt = cr.tensor(x, dtype=x.dtype.name, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), theirs(tx)
    assert out.shape == tuple(expected.shape) and out.dtype == x.dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=atol)
    upstream = np.random.default_rng(3).standard_normal(out.shape).astype(x.dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=atol)


@pytest.mark.torch
@EXAMPLES
@given(p=windows(), include_pad=st.booleans(), seed=st.integers(0, 2**16))
def test_pooling_matches_torch(p: dict, include_pad: bool, seed: int) -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = np.random.default_rng(seed).standard_normal(p["shape"]).astype(np.float32)
    _torch_compare(_max(p), lambda t: tf.max_pool2d(t, p["kernel"], p["stride"], p["padding"],
                                                    p["dilation"], p["ceil_mode"]), x, atol=1e-6)
    if p["dilation"] == (1, 1):
        _torch_compare(_avg(p, include_pad),
                       lambda t: tf.avg_pool2d(t, p["kernel"], p["stride"], p["padding"],
                                               p["ceil_mode"], include_pad), x, atol=1e-6)
    out = (p["shape"][2] // 2 + 1, max(1, p["shape"][3] - 1))
    _torch_compare(lambda t: F.adaptive_avg_pool2d(t, out),
                   lambda t: tf.adaptive_avg_pool2d(t, out), x, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 1), (3, 2)])
def test_max_pool_ties_route_to_the_first_maximum_as_torch(kernel: int, stride: int) -> None:
    """ReLU outputs are full of zeros: windows with several equal maxima are common."""
    x = np.maximum(np.random.default_rng(0).integers(-2, 3, (2, 3, 8, 8)), 0).astype(np.float64)
    _torch_compare(lambda t: F.max_pool2d(t, kernel, stride),
                   lambda t: pytest.importorskip("torch").nn.functional.max_pool2d(
                       t, kernel, stride), x)


def test_max_pool_is_the_max_gate_on_every_window() -> None:
    x = cr.tensor([[[[1.0, 4.0], [5.0, 2.0]]]], dtype="float64", requires_grad=True)
    out = F.max_pool2d(x, 2)
    assert out.item() == 5.0
    out.backward(np.array([[[[9.0]]]]))
    np.testing.assert_array_equal(x.grad[0, 0], [[0.0, 0.0], [9.0, 0.0]])  # routed to the max
    tie = cr.tensor([[[[3.0, 3.0], [1.0, 3.0]]]], dtype="float64", requires_grad=True)
    F.max_pool2d(tie, 2).backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(tie.grad[0, 0], [[1.0, 0.0], [0.0, 0.0]])  # the first max


def test_global_average_pooling_spreads_the_gradient_evenly() -> None:
    x = cr.randn(2, 3, 4, 5, requires_grad=True)
    out = F.adaptive_avg_pool2d(x, 1)
    np.testing.assert_allclose(out.data[..., 0, 0], x.data.mean(axis=(2, 3)), rtol=1e-6)
    out.backward(np.ones(out.shape, np.float32))
    np.testing.assert_allclose(x.grad, np.full(x.shape, 1 / 20), rtol=1e-6)


def test_errors_name_the_op_and_the_shapes() -> None:
    with pytest.raises(cr.ShapeError, match=r"max_pool2d: input of shape \(1, 2, 3, 3\) is too "
                                            r"small for a 4x4 kernel"):
        F.max_pool2d(cr.randn(1, 2, 3, 3), 4)
    with pytest.raises(cr.ShapeError, match=r"avg_pool2d: expected a batch of images "
                                            r"\(N, C, H, W\), got an input of shape \(2, 3, 3\)"):
        F.avg_pool2d(cr.randn(2, 3, 3), 2)
    with pytest.raises(cr.ShapeError, match=r"adaptive_avg_pool2d: expected a batch of images"):
        F.adaptive_avg_pool2d(cr.randn(4, 4), 1)
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half"):
        F.max_pool2d(cr.randn(1, 1, 6, 6), 3, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: kernel_size must be >= 1"):
        F.avg_pool2d(cr.randn(1, 1, 6, 6), 0)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be >= 1"):
        F.adaptive_avg_pool2d(cr.randn(1, 1, 6, 6), 0)
