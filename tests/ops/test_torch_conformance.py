"""Conformance with PyTorch (test-only dependency): forward values and gradients of every op
PyTorch also has, saturated inputs, and the exception class for bad shapes.

Tolerances: forward atol 1e-6 / rtol 1e-3, gradients atol 1e-4 / rtol 1e-3 in float32;
the softmax family in float64 to 1e-7.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F

torch = pytest.importorskip("torch")
tf = torch.nn.functional

pytestmark = pytest.mark.torch

FWD = {"atol": 1e-6, "rtol": 1e-3}
GRAD = {"atol": 1e-4, "rtol": 1e-3}
TIGHT = {"atol": 1e-7, "rtol": 1e-7}


def compare(
    cr_fn: Callable[..., cr.Tensor],
    torch_fn: Callable[..., Any],
    arrays: list[np.ndarray],
    dtype: Any = np.float32,
    fwd: dict = FWD,
    grad: dict = GRAD,
    seed: int = 0,
) -> None:
    """Run both libraries on the same inputs and a random upstream; compare everything."""
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    ours = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = cr_fn(*ours)
    expected = torch_fn(*theirs)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.dtype(dtype), f"output dtype {out.dtype}"
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **fwd)
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (o, t) in enumerate(zip(ours, theirs)):
        want = np.zeros(o.shape, dtype) if t.grad is None else t.grad.numpy()
        got = np.zeros(o.shape, dtype) if o.grad is None else o.grad
        assert got.dtype == np.dtype(dtype), f"grad {i} dtype {got.dtype}"
        np.testing.assert_allclose(got, want, **grad, err_msg=f"gradient of input {i}")


rng = np.random.default_rng(2024)


def randn(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(*shape: int) -> np.ndarray:
    return rng.uniform(0.3, 3.0, shape)


def nonzero(*shape: int) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, shape)


def distinct(*shape: int) -> np.ndarray:
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


ELEMENTWISE: dict[str, tuple[Callable, Callable, Callable]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, lambda: [randn(3, 4), randn(4)]),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, lambda: [randn(2, 1, 3), randn(4, 1)]),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, lambda: [randn(3, 4), randn(3, 1)]),
    "div": (lambda a, b: a / b, lambda a, b: a / b, lambda: [randn(3, 4), nonzero(4)]),
    "neg": (lambda a: -a, lambda a: -a, lambda: [randn(5)]),
    "pow_number": (lambda a: a**3, lambda a: a**3, lambda: [randn(2, 3)]),
    "pow_fraction": (lambda a: a**0.5, lambda a: a**0.5, lambda: [positive(2, 3)]),
    "pow_tensor": (lambda a, b: a**b, lambda a, b: a**b, lambda: [positive(2, 3), randn(3)]),
    "rpow": (lambda a: 2.0**a, lambda a: 2.0**a, lambda: [randn(4)]),
    "rdiv": (lambda a: 1.0 / a, lambda a: 1.0 / a, lambda: [nonzero(4)]),
    "exp": (cr.exp, torch.exp, lambda: [randn(3, 3)]),
    "log": (cr.log, torch.log, lambda: [positive(3, 3)]),
    "sqrt": (cr.sqrt, torch.sqrt, lambda: [positive(3, 3)]),
    "sin": (cr.sin, torch.sin, lambda: [randn(3, 3) * 3]),
    "cos": (cr.cos, torch.cos, lambda: [randn(3, 3) * 3]),
    "abs": (cr.abs, torch.abs, lambda: [nonzero(3, 3)]),
    "abs_at_zero": (cr.abs, torch.abs, lambda: [np.array([0.0, 1.0, -1.0])]),
    "maximum": (cr.maximum, torch.maximum, lambda: [randn(3, 4), randn(3, 4)]),
    "minimum": (cr.minimum, torch.minimum, lambda: [randn(3, 4), randn(3, 4)]),
    "maximum_ties": (cr.maximum, torch.maximum, lambda: [np.ones(3), np.array([1.0, 0, 2])]),
    "minimum_ties": (cr.minimum, torch.minimum, lambda: [np.ones(3), np.array([1.0, 0, 2])]),
    "clip": (lambda a: cr.clip(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5),
             lambda: [nonzero(4, 4)]),
    "where": (lambda a, b: cr.where(cr.tensor(np.arange(12).reshape(3, 4) % 3 == 0), a, b),
              lambda a, b: torch.where(torch.arange(12).reshape(3, 4) % 3 == 0, a, b),
              lambda: [randn(3, 4), randn(4)]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise(name: str) -> None:
    ours, theirs, make = ELEMENTWISE[name]
    compare(ours, theirs, make())


REDUCTIONS: dict[str, tuple[Callable, Callable]] = {
    "sum": (lambda a, ax, k: a.sum(ax, k), lambda a, ax, k: a.sum(ax, keepdim=k)),
    "mean": (lambda a, ax, k: a.mean(ax, k), lambda a, ax, k: a.mean(ax, keepdim=k)),
    "max": (lambda a, ax, k: a.max(axis=ax, keepdims=k),
            lambda a, ax, k: torch.amax(a, ax, keepdim=k)),
    "min": (lambda a, ax, k: a.min(axis=ax, keepdims=k),
            lambda a, ax, k: torch.amin(a, ax, keepdim=k)),
    "logsumexp": (lambda a, ax, k: cr.logsumexp(a, ax, k),
                  lambda a, ax, k: torch.logsumexp(a, ax, keepdim=k)),
    "var": (lambda a, ax, k: a.var(ax, k), lambda a, ax, k: a.var(ax, keepdim=k, correction=0)),
    "var_ddof1": (lambda a, ax, k: a.var(ax, k, ddof=1),
                  lambda a, ax, k: a.var(ax, keepdim=k, correction=1)),
    "std": (lambda a, ax, k: a.std(ax, k), lambda a, ax, k: a.std(ax, keepdim=k, correction=0)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [0, -1, (0, 2), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name: str, axis: Any, keepdims: bool) -> None:
    ours, theirs = REDUCTIONS[name]
    dims = (0, 1, 2) if axis is None else axis
    compare(lambda a: ours(a, axis, keepdims), lambda a: theirs(a, dims, keepdims),
            [randn(2, 3, 4)])


def test_max_and_min_share_ties_like_amax() -> None:
    x = [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]
    compare(lambda a: a.max(axis=1), lambda a: torch.amax(a, 1), x)
    compare(lambda a: a.min(), lambda a: torch.amin(a), x)


def test_std_of_a_constant_has_zero_gradient() -> None:
    compare(lambda a: a.std(1), lambda a: a.std(1, correction=0), [np.ones((2, 3))])


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 4))]


@pytest.mark.parametrize(("a", "b"), MATMUL_SHAPES)
def test_matmul(a: tuple, b: tuple) -> None:
    compare(cr.matmul, torch.matmul, [randn(*a), randn(*b)])


@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear(x_shape: tuple) -> None:
    compare(F.linear, tf.linear, [randn(*x_shape), randn(4, 3), randn(4)])
    compare(lambda x, w: F.linear(x, w), lambda x, w: tf.linear(x, w),
            [randn(*x_shape), randn(4, 3)])


SHAPES: dict[str, tuple[Callable, Callable, tuple]] = {
    "reshape": (lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), (2, 3, 4)),
    "flatten": (lambda a: a.flatten(1), lambda a: a.flatten(1), (2, 3, 4)),
    "permute": (lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), (2, 3, 4)),
    "transpose": (lambda a: a.T, lambda a: a.T, (3, 4)),
    "expand": (lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4), (3, 1)),
    "squeeze": (lambda a: a.squeeze(1), lambda a: a.squeeze(1), (3, 1, 2)),
    "unsqueeze": (lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), (3, 2)),
    "slice": (lambda a: a[1:, ::2], lambda a: a[1:, ::2], (4, 5)),
    "int_index_repeats": (lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]], (3, 2)),
    "pair_index": (lambda a: a[[0, 1, 1], [2, 0, 0]], lambda a: a[[0, 1, 1], [2, 0, 0]], (3, 4)),
    "mask_index": (lambda a: a[a.data > 0], lambda a: a[a > 0], (3, 4)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_ops(name: str) -> None:
    ours, theirs, shape = SHAPES[name]
    compare(ours, theirs, [randn(*shape)])


def test_cat_and_stack() -> None:
    compare(lambda a, b: cr.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
            [randn(2, 3), randn(2, 1)])
    compare(lambda a, b: cr.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1),
            [randn(2, 3), randn(2, 3)])


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (F.relu, tf.relu),
    "leaky_relu": (F.leaky_relu, tf.leaky_relu),
    "leaky_relu_0.1": (lambda a: F.leaky_relu(a, 0.1), lambda a: tf.leaky_relu(a, 0.1)),
    "elu": (F.elu, tf.elu),
    "elu_alpha": (lambda a: F.elu(a, 0.5), lambda a: tf.elu(a, 0.5)),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "maxout": (lambda a: F.maxout(a, 2), lambda a: torch.amax(a.reshape(4, 3, 2), -1)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name: str) -> None:
    ours, theirs = ACTIVATIONS[name]
    compare(ours, theirs, [nonzero(4, 6) * 2])


@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3, 3), (4,)])
@pytest.mark.parametrize("slopes", ["one", "per_channel"])
def test_prelu(shape: tuple, slopes: str) -> None:
    channels = shape[1] if len(shape) >= 2 else 1
    w = rng.uniform(0.05, 0.5, 1 if slopes == "one" else channels)
    compare(F.prelu, tf.prelu, [nonzero(*shape), w])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_family_in_float64(axis: int) -> None:
    x = [randn(3, 5, 2) * 4]
    compare(lambda a: F.softmax(a, axis), lambda a: torch.softmax(a, axis), x,
            np.float64, TIGHT, TIGHT)
    compare(lambda a: F.log_softmax(a, axis), lambda a: torch.log_softmax(a, axis), x,
            np.float64, TIGHT, TIGHT)
    compare(lambda a: cr.logsumexp(a, axis), lambda a: torch.logsumexp(a, axis), x,
            np.float64, TIGHT, TIGHT)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction: str) -> None:
    labels = np.array([0, 3, 1, 1, 2])
    scores = [randn(5, 4) * 3]
    compare(lambda s: F.cross_entropy(s, labels, reduction),
            lambda s: tf.cross_entropy(s, torch.from_numpy(labels), reduction=reduction),
            scores)
    compare(lambda s: F.cross_entropy(s, labels, reduction),
            lambda s: tf.cross_entropy(s, torch.from_numpy(labels), reduction=reduction),
            scores, np.float64, TIGHT, TIGHT)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_multiclass_hinge_is_multi_margin_times_classes(reduction: str, margin: float) -> None:
    # torch's MultiMarginLoss divides each example's sum by the number of classes C.
    labels = np.array([0, 3, 1, 1, 2])
    c = 4
    compare(lambda s: F.multiclass_hinge_loss(s, labels, margin, reduction),
            lambda s: c * tf.multi_margin_loss(s, torch.from_numpy(labels), margin=margin,
                                               reduction=reduction),
            [distinct(5, c) * 0.37])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction: str) -> None:
    compare(lambda p, t: F.mse_loss(p, t, reduction),
            lambda p, t: tf.mse_loss(p, t, reduction=reduction), [randn(4, 3), randn(4, 3)])
    per_example = {"mean": lambda v: v.sum() / 4, "sum": lambda v: v.sum(), "none": lambda v: v}

    def torch_l2(p: Any, t: Any) -> Any:
        return per_example[reduction](0.5 * ((p - t) ** 2).sum(dim=1))

    compare(lambda p, t: F.l2_loss(p, t, reduction), torch_l2, [randn(4, 3), randn(4, 3)])


# ----------------------------------------------------------------------------- saturation
def _no_warnings(fn: Callable[[], None]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn()


SATURATED = np.array([-300.0, -100.0, -20.0, 0.0, 20.0, 100.0, 300.0], dtype=np.float32)


def test_sigmoid_and_tanh_saturate_cleanly_at_300() -> None:
    _no_warnings(lambda: compare(F.sigmoid, torch.sigmoid, [SATURATED]))
    _no_warnings(lambda: compare(F.tanh, torch.tanh, [SATURATED]))
    x = cr.tensor(SATURATED, requires_grad=True)
    F.sigmoid(x).sum().backward()
    assert np.all(np.isfinite(x.grad)) and x.grad[0] == 0.0 and x.grad[-1] == 0.0


def test_exp_overflow_matches_torch() -> None:
    x = np.array([1.0, 80.0, 100.0, -200.0], dtype=np.float32)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    with np.errstate(over="ignore"):
        out = cr.exp(ours)
        out.backward(np.ones(4, dtype=np.float32))
    expected = torch.exp(theirs)
    expected.backward(torch.ones(4))
    np.testing.assert_array_equal(np.isinf(out.data), torch.isinf(expected).numpy())
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_stable_at_huge_scores(dtype: Any) -> None:
    big = [np.array([[1000.0, -1000.0, 999.0], [-500.0, -501.0, 300.0]])]
    tol = TIGHT if dtype == np.float64 else FWD
    for ours, theirs in [(F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax),
                         (cr.logsumexp, torch.logsumexp)]:
        _no_warnings(lambda o=ours, t=theirs: compare(lambda a: o(a, 1), lambda a: t(a, 1), big,
                                                      dtype, tol, tol))
    labels = np.array([1, 0])
    _no_warnings(lambda: compare(lambda s: F.cross_entropy(s, labels),
                                 lambda s: tf.cross_entropy(s, torch.from_numpy(labels)),
                                 big, dtype, tol, tol))


def test_logsumexp_of_all_minus_infinity() -> None:
    x = cr.tensor([[-np.inf, -np.inf], [0.0, 1.0]])
    expected = torch.logsumexp(torch.tensor(x.data), 1).numpy()
    np.testing.assert_allclose(cr.logsumexp(x, 1).data, expected)


# ----------------------------------------------------------------------------- bad shapes
BAD: dict[str, tuple[Callable, Callable]] = {
    "add": (lambda m: m.ones(2, 3) + m.ones(4), None),
    "mul": (lambda m: m.ones(2, 3) * m.ones(3, 2), None),
    "maximum": (lambda m: m.maximum(m.ones(2, 3), m.ones(4)), None),
    "matmul": (lambda m: m.ones(2, 3) @ m.ones(4, 5), None),
    "matmul_1d": (lambda m: m.ones(3) @ m.ones(4), None),
    "matmul_batch": (lambda m: m.ones(2, 3, 4) @ m.ones(3, 4, 5), None),
    "reshape": (lambda m: m.ones(2, 3).reshape(4, 2), None),
    "expand": (lambda m: m.ones(2, 3).expand(4, 3), None),
    "cat": (lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]), None),
    "stack": (lambda m: m.stack([m.ones(2), m.ones(3)]), None),
    "index": (lambda m: m.ones(2)[5], None),
    "linear": (lambda m: None, lambda: (F.linear(cr.ones(2, 3), cr.ones(4, 5)),
                                        tf.linear(torch.ones(2, 3), torch.ones(4, 5)))),
    "cross_entropy": (lambda m: None, lambda: (
        F.cross_entropy(cr.ones(2, 3), np.array([0, 1, 2])),
        tf.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1, 2])))),
}


def _raised(fn: Callable[[], Any]) -> type[BaseException]:
    try:
        fn()
    except Exception as e:  # the class is what is compared
        return type(e)
    raise AssertionError("no exception raised")


@pytest.mark.parametrize("name", sorted(BAD))
def test_same_exception_class_for_bad_shapes(name: str) -> None:
    generic, pair = BAD[name]
    if pair is None:
        theirs = _raised(lambda: generic(torch))
        ours_error = _raised(lambda: generic(cr))
    else:
        ours_error = _raised(lambda: pair()[0])
        theirs = _raised(lambda: pair()[1])
    assert issubclass(ours_error, theirs), f"chainrule raised {ours_error}, torch {theirs}"
