"""Float64 gradcheck of every op over random shapes and broadcasting, random upstream.

Shapes come from hypothesis; values from a seeded NumPy generator (kept away from the
kinks of relu/abs/max, where a numerical derivative is meaningless).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import chainrule as cr
import chainrule.functional as F

EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True)

seeds = st.integers(0, 2**32 - 1)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonempty = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def away_from_zero(rng: np.random.Generator, shape: tuple, low: float = 0.2) -> np.ndarray:
    """Values with |v| in [low, low + 1.5], random sign: safe for kinks at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, low + 1.5, size=shape)


def distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values at least 0.05 apart (no ties for max/min)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05 + rng.uniform(0, 0.01, n)).reshape(shape) - n * 0.025


def check(fn: Callable[..., cr.Tensor], *inputs: Any, seed: int = 0) -> None:
    assert cr.gradcheck(fn, list(inputs), seed=seed)


# ----------------------------------------------------------------------------- arithmetic
BINARY: dict[str, tuple[Callable, Callable]] = {
    "add": (lambda a, b: a + b, lambda r, s: r.standard_normal(s)),
    "sub": (lambda a, b: a - b, lambda r, s: r.standard_normal(s)),
    "mul": (lambda a, b: a * b, lambda r, s: r.standard_normal(s)),
    "div": (lambda a, b: a / b, lambda r, s: away_from_zero(r, s, 0.5)),
    "pow": (lambda a, b: abs(a) ** b, lambda r, s: away_from_zero(r, s, 0.5)),
    "maximum": (cr.maximum, distinct),
    "minimum": (cr.minimum, distinct),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@EXAMPLES
@given(shape_pair=pairs, seed=seeds)
def test_binary_ops_with_broadcasting(name: str, shape_pair: Any, seed: int) -> None:
    fn, make = BINARY[name]
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shape_pair.input_shapes
    a, b = make(rng, a_shape), make(rng, b_shape)
    if name in ("maximum", "minimum"):
        b = b + 0.013  # no ties between the two operands either
    check(fn, a, b, seed=seed)


UNARY: dict[str, tuple[Callable, Callable]] = {
    "neg": (lambda x: -x, lambda r, s: r.standard_normal(s)),
    "exp": (cr.exp, lambda r, s: r.standard_normal(s)),
    "log": (cr.log, lambda r, s: r.uniform(0.3, 3.0, s)),
    "sqrt": (cr.sqrt, lambda r, s: r.uniform(0.3, 3.0, s)),
    "sin": (cr.sin, lambda r, s: r.standard_normal(s) * 3),
    "cos": (cr.cos, lambda r, s: r.standard_normal(s) * 3),
    "abs": (cr.abs, away_from_zero),
    "clip": (lambda x: cr.clip(x, -0.5, 0.5), lambda r, s: away_from_zero(r, s, 0.05) * 1.5),
    "clip_low": (lambda x: x.clip(min=0.1), lambda r, s: away_from_zero(r, s, 0.05) + 0.1),
    "pow_number": (lambda x: x**3, lambda r, s: r.standard_normal(s)),
    "pow_square": (lambda x: x**2, lambda r, s: r.standard_normal(s)),
    "pow_fraction": (lambda x: x**-1.5, lambda r, s: r.uniform(0.5, 2.0, s)),
    "number_pow": (lambda x: 2.5**x, lambda r, s: r.standard_normal(s)),
    "rsub_rdiv": (lambda x: (1 - x) / (2 + x * x), lambda r, s: r.standard_normal(s)),
    "sigmoid": (F.sigmoid, lambda r, s: r.standard_normal(s) * 3),
    "tanh": (F.tanh, lambda r, s: r.standard_normal(s) * 2),
    "relu": (F.relu, away_from_zero),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), away_from_zero),
    "elu": (lambda x: F.elu(x, 0.7), away_from_zero),
    "cast": (lambda x: x.astype("float64") * 2, lambda r, s: r.standard_normal(s)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@EXAMPLES
@given(shape=shapes, seed=seeds)
def test_unary_ops(name: str, shape: tuple, seed: int) -> None:
    fn, make = UNARY[name]
    check(fn, make(np.random.default_rng(seed), shape), seed=seed)


@EXAMPLES
@given(shapes3=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where(shapes3: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c_shape, a_shape, b_shape = shapes3.input_shapes
    cond = rng.random(c_shape) > 0.5
    check(lambda a, b: cr.where(cond, a, b), rng.standard_normal(a_shape),
          rng.standard_normal(b_shape), seed=seed)


# ----------------------------------------------------------------------------- reductions
REDUCTIONS: dict[str, Callable] = {
    "sum": lambda x, axis, keep: x.sum(axis, keep),
    "mean": lambda x, axis, keep: x.mean(axis, keep),
    "max": lambda x, axis, keep: x.max(axis=axis, keepdims=keep),
    "min": lambda x, axis, keep: cr.min(x, axis, keep),
    "logsumexp": lambda x, axis, keep: cr.logsumexp(x, axis, keep),
    "var": lambda x, axis, keep: x.var(axis, keep),
    "var_unbiased": lambda x, axis, keep: cr.var(x, axis, keep, ddof=1),
    "std": lambda x, axis, keep: cr.std(x, axis, keep),
}


@st.composite
def shape_and_axis(draw: Any) -> tuple:
    shape = draw(nonempty)
    choice = draw(st.sampled_from(["none", "one", "several"]))
    if choice == "none":
        axis = None
    elif choice == "one":
        axis = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        axis = tuple(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1)))
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@EXAMPLES
@given(spec=shape_and_axis(), seed=seeds)
def test_reductions_over_any_axes(name: str, spec: tuple, seed: int) -> None:
    shape, axis, keep = spec
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape) if name in ("max", "min") else rng.standard_normal(shape)
    if name == "var_unbiased":
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        assume(int(np.prod([shape[a] for a in axes])) >= 2)  # ddof=1 needs two elements
    if name == "std":
        x = x + np.linspace(0, 1, x.size).reshape(x.shape)  # nonzero spread
    fn = REDUCTIONS[name]
    check(lambda t: fn(t, axis, keep), x, seed=seed)


# ----------------------------------------------------------------------------- linear algebra
matmul_shapes = st.sampled_from([
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
    ((2, 2, 3), (3, 4)), ((2, 3), (5, 3, 2)), ((4, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 4)),
    ((2, 4, 3), (3,)),
])


@EXAMPLES
@given(pair=matmul_shapes, seed=seeds)
def test_matmul_1d_2d_and_batched(pair: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    check(cr.matmul, rng.standard_normal(pair[0]), rng.standard_normal(pair[1]), seed=seed)


@EXAMPLES
@given(lead=array_shapes(min_dims=0, max_dims=2, max_side=3), din=st.integers(1, 4),
       dout=st.integers(1, 4), bias=st.booleans(), seed=seeds)
def test_linear(lead: tuple, din: int, dout: int, bias: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((*lead, din)), rng.standard_normal((dout, din))
    if bias:
        check(F.linear, x, w, rng.standard_normal(dout), seed=seed)
    else:
        check(lambda a, b: F.linear(a, b), x, w, seed=seed)


# ----------------------------------------------------------------------------- shape ops
@EXAMPLES
@given(shape=nonempty, seed=seeds)
def test_shape_ops(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    perm = tuple(rng.permutation(len(shape)).tolist())
    check(lambda t: t.reshape(-1) * cr.tensor(np.arange(t.size), dtype="float64"), x, seed=seed)
    check(lambda t: t.flatten(), x, seed=seed)
    check(lambda t: t.transpose(perm), x, seed=seed)
    check(lambda t: cr.permute(t, perm), x, seed=seed)
    check(lambda t: t.T, x, seed=seed)
    check(lambda t: t.unsqueeze(0).unsqueeze(-1), x, seed=seed)
    check(lambda t: t.reshape((1, *t.shape, 1)).squeeze(), x, seed=seed)
    check(lambda t: cr.squeeze(t.unsqueeze(1), 1), x, seed=seed)
    check(lambda t: t.broadcast_to((2, *t.shape)), x, seed=seed)


@EXAMPLES
@given(shape_pair=pairs, seed=seeds)
def test_expand_to_a_broadcast_shape(shape_pair: Any, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape_pair.input_shapes[0])
    check(lambda t: cr.expand(t, shape_pair.result_shape), x, seed=seed)


@EXAMPLES
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), seed=seeds)
def test_indexing(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    n = shape[0]
    repeated = rng.integers(0, n, size=5)  # repeats must scatter-add
    mask = rng.random(shape) > 0.4
    check(lambda t: t[1:], x, seed=seed)
    check(lambda t: t[::-1][0], x, seed=seed)
    check(lambda t: t[..., None, -1], x, seed=seed)
    check(lambda t: t[repeated], x, seed=seed)
    check(lambda t: t[cr.tensor(repeated)], x, seed=seed)
    check(lambda t: t[list(repeated)], x, seed=seed)
    check(lambda t: t[mask], x, seed=seed)
    if len(shape) >= 2:
        cols = rng.integers(0, shape[1], size=5)
        check(lambda t: t[repeated, cols], x, seed=seed)
        check(lambda t: t[:, cols], x, seed=seed)


@EXAMPLES
@given(shape=nonempty, count=st.integers(1, 3), seed=seeds)
def test_concatenate_and_stack(shape: tuple, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    axis = int(rng.integers(-len(shape), len(shape)))
    pieces = []
    for _ in range(count):
        s = list(shape)
        s[axis] = int(rng.integers(1, 4))
        pieces.append(rng.standard_normal(s))
    check(lambda *ts: cr.concatenate(ts, axis=axis), *pieces, seed=seed)
    same = [rng.standard_normal(shape) for _ in range(count)]
    check(lambda *ts: cr.stack(ts, axis=axis), *same, seed=seed)
    check(lambda a: cr.cat([a, np.ones(shape)], axis=0), same[0], seed=seed)


# ----------------------------------------------------------------------------- activations
@EXAMPLES
@given(shape=nonempty, seed=seeds)
def test_softmax_family(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    axis = int(rng.integers(-len(shape), len(shape)))
    check(lambda t: F.softmax(t, axis), x, seed=seed)
    check(lambda t: F.log_softmax(t, axis), x, seed=seed)
    check(lambda t: cr.softmax(t), x, seed=seed)


@EXAMPLES
@given(lead=array_shapes(min_dims=0, max_dims=2, max_side=3), features=st.integers(1, 3),
       pieces=st.integers(1, 3), seed=seeds)
def test_maxout(lead: tuple, features: int, pieces: int, seed: int) -> None:
    x = distinct(np.random.default_rng(seed), (*lead, features * pieces))
    check(lambda t: F.maxout(t, pieces), x, seed=seed)


@EXAMPLES
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=3), per_channel=st.booleans(),
       seed=seeds)
def test_prelu(shape: tuple, per_channel: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    channels = shape[1] if len(shape) >= 2 else 1
    w = rng.uniform(0.05, 0.5, channels if per_channel else 1)
    check(F.prelu, away_from_zero(rng, shape), w, seed=seed)


# ----------------------------------------------------------------------------- losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@EXAMPLES
@given(n=st.integers(1, 5), c=st.integers(2, 5), seed=seeds)
def test_classification_losses(reduction: str, n: int, c: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, size=n)
    scores = rng.standard_normal((n, c)) * 2
    check(lambda s: F.cross_entropy(s, labels, reduction=reduction), scores, seed=seed)
    # Keep every margin s_j - s_y + 1 away from the hinge's kink at 0.
    hinge_scores = distinct(rng, (n, c)) * 4
    margins = hinge_scores - hinge_scores[np.arange(n), labels][:, None] + 1.0
    hinge_scores += np.where(np.abs(margins) < 0.05, 0.1, 0.0)
    check(lambda s: F.multiclass_hinge_loss(s, labels, reduction=reduction), hinge_scores,
          seed=seed)
    check(lambda s: F.multiclass_hinge_loss(s, labels, margin=0.0, reduction=reduction),
          hinge_scores, seed=seed)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@EXAMPLES
@given(shape=nonempty, seed=seeds)
def test_regression_losses(reduction: str, shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    check(lambda p, t: F.mse_loss(p, t, reduction=reduction), pred, target, seed=seed)
    check(lambda p, t: F.l2_loss(p, t, reduction=reduction), pred, target, seed=seed)
    check(lambda p: F.l2_loss(p, target, reduction=reduction), pred, seed=seed)


# ----------------------------------------------------------------------------- second order
SECOND_ORDER: dict[str, tuple[Callable, Callable]] = {
    "mul_div": (lambda x: x * x / (1 + x * x), lambda r, s: r.standard_normal(s)),
    "exp_log": (lambda x: cr.log(cr.exp(x) + 1), lambda r, s: r.standard_normal(s)),
    "pow_sqrt": (lambda x: cr.sqrt(x) ** 3 + x**2.5, lambda r, s: r.uniform(0.5, 2, s)),
    "sigmoid": (F.sigmoid, lambda r, s: r.standard_normal(s)),
    "tanh": (F.tanh, lambda r, s: r.standard_normal(s)),
    "elu": (F.elu, away_from_zero),
    "softmax": (lambda x: F.softmax(x, -1) * cr.tensor([1.0, 2.0, 3.0], dtype="float64"),
                lambda r, s: r.standard_normal(s)),
    "log_softmax": (lambda x: F.log_softmax(x, 0), lambda r, s: r.standard_normal(s)),
    "logsumexp": (lambda x: cr.logsumexp(x, 1, True) * x, lambda r, s: r.standard_normal(s)),
    "matmul": (lambda x: (x @ x.T) @ x, lambda r, s: r.standard_normal(s)),
    "linear": (lambda x: F.linear(x, x * x, x[:, 0] ** 2), lambda r, s: r.standard_normal(s)),
    "reductions": (lambda x: x.mean(0) * x.var(1, True) + x.std() * x.sum(),
                   lambda r, s: r.standard_normal(s)),
    "indexing": (lambda x: x[[0, 0, 1]] ** 2 * cr.cat([x, x], 0)[1:4],
                 lambda r, s: r.standard_normal(s)),
    "cross_entropy": (lambda x: F.cross_entropy(x * x, np.array([0, 2, 1, 1])),
                      lambda r, s: r.standard_normal(s)),
    "mse": (lambda x: F.mse_loss(x * x, x), lambda r, s: r.standard_normal(s)),
    "prelu": (lambda x: F.prelu(x, x[0] ** 2), away_from_zero),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_by_gradcheck_of_the_gradient(name: str) -> None:
    fn, make = SECOND_ORDER[name]
    rng = np.random.default_rng(7)
    x = make(rng, (4, 3))
    up = rng.standard_normal(fn(cr.tensor(x, dtype="float64")).shape)

    def gradient(t: cr.Tensor) -> cr.Tensor:
        (g,) = cr.grad(fn(t), t, upstream=up, create_graph=True)
        return g

    check(gradient, x)
