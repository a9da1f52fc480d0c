"""conv2d: float64 gradcheck over random geometries, conformance with PyTorch, shape errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
from chainrule.ops.conv import conv_geometry

EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True)


@st.composite
def geometries(draw: Any) -> dict:
    """A convolution small enough for a numerical gradient, with every option in play."""
    groups = draw(st.integers(1, 3))
    g = {
        "n": draw(st.integers(1, 2)), "groups": groups,
        "c": groups * draw(st.integers(1, 2)), "o": groups * draw(st.integers(1, 2)),
        "kernel": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 2))),
        "padding": (draw(st.integers(0, 2)), draw(st.integers(0, 1))),
        "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "h": draw(st.integers(1, 7)), "w": draw(st.integers(1, 6)),
        "bias": draw(st.booleans()),
    }
    for axis, size in ((0, g["h"]), (1, g["w"])):
        extent = g["dilation"][axis] * (g["kernel"][axis] - 1) + 1
        assume(size + 2 * g["padding"][axis] >= extent)
    return g


def _arrays(g: dict, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((g["n"], g["c"], g["h"], g["w"])),
              rng.standard_normal((g["o"], g["c"] // g["groups"], *g["kernel"]))]
    if g["bias"]:
        arrays.append(rng.standard_normal(g["o"]))
    return arrays


def _conv(g: dict) -> Any:
    def run(x: cr.Tensor, w: cr.Tensor, b: cr.Tensor | None = None) -> cr.Tensor:
        return F.conv2d(x, w, b, g["stride"], g["padding"], g["dilation"], g["groups"])
    return run


@EXAMPLES
@given(g=geometries(), seed=st.integers(0, 2**16))
def test_gradcheck_over_random_geometries(g: dict, seed: int) -> None:
    assert cr.gradcheck(_conv(g), _arrays(g, seed), seed=seed)


@pytest.mark.torch
@EXAMPLES
@given(g=geometries(), seed=st.integers(0, 2**16))
def test_matches_torch_forward_and_backward(g: dict, seed: int) -> None:
    torch = pytest.importorskip("torch")
    arrays = [a.astype(np.float32) for a in _arrays(g, seed)]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = _conv(g)(*ours)
    expected = torch.nn.functional.conv2d(*theirs, stride=g["stride"], padding=g["padding"],
                                          dilation=g["dilation"], groups=g["groups"])
    assert out.dtype == np.float32 and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-5, rtol=1e-4)
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for o, t in zip(ours, theirs):
        assert o.grad.dtype == np.float32
        np.testing.assert_allclose(o.grad, t.grad.numpy(), atol=1e-4, rtol=1e-3)


@pytest.mark.torch
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4)])
def test_string_padding_matches_torch(padding: str, kernel: tuple) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((4, 3, *kernel))
    out = F.conv2d(cr.tensor(x, dtype="float64"), cr.tensor(w, dtype="float64"),
                   padding=padding, dilation=2)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=padding,
                                          dilation=2)
    np.testing.assert_allclose(out.data, expected.numpy(), atol=1e-12)


def test_the_backward_is_the_matmul_rule_on_the_unfolded_input() -> None:
    """A 1x1 convolution is a Linear layer applied at every pixel."""
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((2, 3, 4, 5)), dtype="float64", requires_grad=True)
    w = cr.tensor(rng.standard_normal((6, 3, 1, 1)), dtype="float64", requires_grad=True)
    out = F.conv2d(x, w)
    rows = x.data.transpose(0, 2, 3, 1).reshape(-1, 3)
    np.testing.assert_allclose(out.data.transpose(0, 2, 3, 1).reshape(-1, 6),
                               rows @ w.data[:, :, 0, 0].T, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    up_rows = upstream.transpose(0, 2, 3, 1).reshape(-1, 6)
    np.testing.assert_allclose(w.grad[:, :, 0, 0], (rows.T @ up_rows).T, atol=1e-12)
    np.testing.assert_allclose(x.grad.transpose(0, 2, 3, 1).reshape(-1, 3),
                               up_rows @ w.data[:, :, 0, 0], atol=1e-12)


def test_output_keeps_channels_last_memory_and_accepts_any_layout() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = cr.tensor(rng.standard_normal((4, 3, 3, 3)), dtype="float64")
    out = F.conv2d(cr.tensor(x, dtype="float64"), w, padding=1)
    assert out.data.transpose(0, 2, 3, 1).flags.c_contiguous
    fortran = np.asfortranarray(x)
    np.testing.assert_allclose(F.conv2d(cr.tensor(fortran, dtype="float64"), w,
                                        padding=1).data, out.data, atol=1e-13)


def test_geometry_of_a_cifar_layer() -> None:
    g = conv_geometry((128, 32, 32, 32), (64, 32, 3, 3), (64,), (1, 1), ((1, 1), (1, 1)),
                      (1, 1), 1)
    assert (g.ho, g.wo, g.rows, g.depth, g.padded) == (32, 32, 128 * 32 * 32, 288,
                                                       (128, 34, 34, 32))


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs", "message"), [
    ((2, 3, 2, 2), (4, 3, 3, 3), {}, r"conv2d: input of shape \(2, 3, 2, 2\) is too small "
                                     r"for a 3x3 kernel"),
    ((2, 3, 5, 5), (4, 2, 3, 3), {}, r"conv2d: input of shape \(2, 3, 5, 5\) has 3 channels "
                                     r"but weight of shape \(4, 2, 3, 3\) expects 2"),
    ((2, 4, 5, 5), (6, 2, 3, 3), {"groups": 3}, r"conv2d: groups=3 must divide both the 4 "
                                                r"input channels"),
    ((3, 5, 5), (4, 3, 3, 3), {}, r"conv2d: expected a batch of images \(N, C, H, W\), got "
                                  r"an input of shape \(3, 5, 5\)"),
    ((2, 3, 5, 5), (4, 3, 3), {}, r"conv2d: weight must be \(out_channels, in_channels/groups, "
                                  r"kh, kw\), got shape \(4, 3, 3\)"),
])
def test_shape_errors_name_the_op_and_the_shapes(x_shape: tuple, w_shape: tuple, kwargs: dict,
                                                 message: str) -> None:
    with pytest.raises(cr.ShapeError, match=message):
        F.conv2d(cr.randn(*x_shape), cr.randn(*w_shape), **kwargs)


def test_bias_and_option_errors() -> None:
    with pytest.raises(cr.ShapeError, match=r"conv2d: bias of shape \(3,\) does not fit weight"):
        F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(4, 3, 3, 3), cr.randn(3))
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1"):
        F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(4, 3, 3, 3), stride=0)
    with pytest.raises(ValueError, match="conv2d: padding='same' needs stride 1"):
        F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="conv2d: padding must be"):
        F.conv2d(cr.randn(1, 3, 5, 5), cr.randn(4, 3, 3, 3), padding="full")


def test_conv_describes_itself_for_the_explainer() -> None:
    from chainrule.explain import trace

    x = cr.randn(1, 3, 6, 6, requires_grad=True)
    w = cr.randn(4, 3, 3, 3, requires_grad=True)
    t = trace(F.conv2d(x, w, padding=1).sum())
    gate = next(n for n in t.gates if n.op == "Conv2d")
    assert gate.label == "conv2d" and gate.params["padding"] == ((1, 1), (1, 1))
    step = next(s for s in t.steps if s.node is gate)
    assert step.local[0] == "col2im(upstream (36x4) @ W_col^T (4x27)) -> (1, 3, 6, 6)"
    assert step.local[1] == "X_col^T (27x36) @ upstream (36x4), as (4, 3, 3, 3)"


@pytest.mark.parametrize("block_bytes", [1, 5000, 20000])
@pytest.mark.parametrize(("stride", "padding", "groups"), [(1, 1, 1), (2, 1, 1), (1, 0, 2),
                                                            (2, 2, 2)])
def test_blocked_products_give_the_same_gradients(monkeypatch, block_bytes: int, stride: int,
                                                  padding: int, groups: int) -> None:
    """Blocks of output rows (one row, several rows, several images) cover every window."""
    from chainrule import _images

    monkeypatch.setattr(_images, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(block_bytes)
    x, w, b = rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((6, 4 // groups, 3, 2)), \
        rng.standard_normal(6)
    run = lambda *t: F.conv2d(*t, stride=stride, padding=padding, groups=groups)
    if block_bytes == 5000:
        assert cr.gradcheck(run, [x, w, b])
    monkeypatch.setattr(_images, "BLOCK_BYTES", 1 << 30)  # one block: the reference
    ref = [cr.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b)]
    out_ref = run(*ref)
    out_ref.sum().backward()
    monkeypatch.setattr(_images, "BLOCK_BYTES", block_bytes)
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b)]
    out = run(*ours)
    out.sum().backward()
    np.testing.assert_allclose(out.data, out_ref.data, atol=1e-12)
    for a, r in zip(ours, ref):
        np.testing.assert_allclose(a.grad, r.grad, atol=1e-12)
