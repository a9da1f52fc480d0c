"""The op cases of the portability suite: one row per op (and per way of calling it).

A new op adds a row to :data:`OP_CASES`, and is then run on every device of
``tests/portability/devices.py``: forward, backward with a random upstream gradient and
a float64 gradcheck, each against NumPy; and, where its backward is differentiable,
second derivatives. A row is an :class:`OpCase`: a name, the function of the input
tensors, and how to make each input (float64 arrays from a seeded generator, or an
integer array that is passed as it is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.functional as F

Make = Callable[[np.random.Generator], np.ndarray]


# ----------------------------------------------------------------------------- inputs
def normal(*shape: int) -> Make:
    """Standard normal values."""
    return lambda rng: rng.standard_normal(shape)


def positive(*shape: int) -> Make:
    """Values in [0.5, 2] (log, sqrt, division, powers)."""
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape: int) -> Make:
    """Values of either sign, at least 0.1 from 0 (kinks of abs, relu, ...)."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


def distinct(*shape: int) -> Make:
    """A permutation of spread-out values: no ties (max, min, maxout, sorting)."""
    count = int(np.prod(shape))
    return lambda rng: (rng.permutation(count) * 0.37 - count * 0.15).reshape(shape)


def labels(n: int, classes: int) -> Make:
    """Integer class labels: passed to the op as they are, not differentiated."""
    return lambda rng: rng.integers(0, classes, n)


def fixed(values: list) -> Make:
    """These float values (ties for max and min)."""
    return lambda rng: np.asarray(values, dtype=np.float64)


def indexes_2d(values: list) -> Make:
    """A fixed 2-D integer index (``gather``)."""
    return lambda rng: np.asarray(values)


def indexes(*values: int) -> Make:
    """A fixed integer index array (repeats allowed: the scatter-add of indexing)."""
    return lambda rng: np.asarray(values)


@dataclass(frozen=True)
class OpCase:
    """One op call: ``fn(*inputs)`` with inputs made by ``inputs`` (float64 ones are
    differentiated). ``gradcheck=False`` where the op is not smooth at random points or
    not deterministic; ``random=True`` where it draws numbers (each device is seeded
    alike before the call)."""

    name: str
    fn: Callable[..., cr.Tensor]
    inputs: tuple[Make, ...]
    gradcheck: bool = True
    random: bool = False

    def __str__(self) -> str:
        return self.name


def _running(x: cr.Tensor, channels: int) -> tuple[Any, Any]:
    """Running mean and variance arrays for batch norm on ``x``'s device."""
    mean = cr.linspace(-0.5, 0.5, channels, dtype="float64", device=x.device).data
    return mean, cr.full((channels,), 1.5, dtype="float64", device=x.device).data


def _count(x: cr.Tensor) -> Any:
    """A batch norm's ``num_batches_tracked`` on ``x``'s device."""
    return cr.full((), 3, dtype="int64", device=x.device).data


# ----------------------------------------------------------------------------- the table
OP_CASES: list[OpCase] = [
    # arithmetic
    OpCase("add", lambda x, y: x + y, (normal(3, 4), normal(3, 4))),
    OpCase("add broadcast", lambda x, y: x + y, (normal(3, 1), normal(4))),
    OpCase("add number", lambda x: 2.5 + x, (normal(3, 4),)),
    OpCase("add numpy constant", lambda x: x + np.arange(4.0), (normal(3, 4),)),
    OpCase("sub", lambda x, y: x - y, (normal(3, 4), normal(4))),
    OpCase("rsub number", lambda x: 1.0 - x, (normal(5),)),
    OpCase("mul", lambda x, y: x * y, (normal(3, 4), normal(3, 4))),
    OpCase("mul number", lambda x: x * -3.0, (normal(2, 3),)),
    OpCase("div", lambda x, y: x / y, (normal(3, 4), positive(3, 4))),
    OpCase("rdiv number", lambda x: 1.0 / x, (positive(6),)),
    OpCase("neg", lambda x: -x, (normal(3, 4),)),
    OpCase("pow square", lambda x: x**2, (normal(3, 4),)),
    OpCase("pow number", lambda x: x**1.5, (positive(3, 4),)),
    OpCase("pow tensor", lambda x, p: x**p, (positive(3, 4), normal(3, 4))),
    OpCase("number pow tensor", lambda p: 2.0**p, (normal(5),)),
    # elementwise
    OpCase("exp", cr.exp, (normal(3, 4),)),
    OpCase("log", cr.log, (positive(3, 4),)),
    OpCase("sqrt", cr.sqrt, (positive(3, 4),)),
    OpCase("abs", cr.abs, (away_from_zero(3, 4),)),
    OpCase("maximum", cr.maximum, (distinct(3, 4), normal(3, 4))),
    OpCase("maximum ties", cr.maximum, (fixed([1.0, 2.0, 3.0]), fixed([1.0, 0.0, 3.0])),
           gradcheck=False),
    OpCase("maximum number", lambda x: cr.maximum(x, 0.2), (away_from_zero(3, 4),)),
    OpCase("minimum", cr.minimum, (distinct(3, 4), normal(3, 4))),
    OpCase("clip", lambda x: cr.clip(x, -0.5, 0.7), (away_from_zero(4, 5),)),
    OpCase("clip low", lambda x: x.clip(min=-0.5), (away_from_zero(4, 5),)),
    OpCase("clip high", lambda x: x.clip(max=0.5), (away_from_zero(4, 5),)),
    OpCase("where", lambda c, x, y: cr.where(c > 0, x, y), (normal(3, 4), normal(3, 4),
                                                             normal(3, 4))),
    OpCase("where number", lambda x: cr.where(x > 0, x, 0.5), (away_from_zero(3, 4),)),
    OpCase("cast", lambda x: x.astype("float32").astype("float64") * 1.0, (normal(3),),
           gradcheck=False),
    OpCase("sin", lambda x: x.sin(), (normal(3, 4),)),
    OpCase("cos", lambda x: x.cos(), (normal(3, 4),)),
    # reductions
    OpCase("sum", lambda x: x.sum(), (normal(3, 4),)),
    OpCase("sum axis", lambda x: x.sum(axis=1), (normal(3, 4, 2),)),
    OpCase("sum axes keepdims", lambda x: x.sum(axis=(0, 2), keepdims=True), (normal(3, 4, 2),)),
    OpCase("mean", lambda x: x.mean(), (normal(3, 4),)),
    OpCase("mean axis", lambda x: x.mean(axis=-1), (normal(3, 4),)),
    OpCase("max", lambda x: x.max(), (distinct(3, 4),)),
    OpCase("max axis", lambda x: x.max(axis=0), (distinct(3, 4),)),
    OpCase("max ties", lambda x: x.max(axis=1), (fixed([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),),
           gradcheck=False),
    OpCase("min axis keepdims", lambda x: x.min(axis=1, keepdims=True), (distinct(3, 4),)),
    OpCase("logsumexp", lambda x: x.logsumexp(axis=1), (normal(3, 4),)),
    OpCase("var", lambda x: x.var(axis=0), (normal(5, 3),)),
    OpCase("std unbiased", lambda x: x.std(ddof=1), (normal(5, 3),)),
    # linear algebra
    OpCase("matmul", cr.matmul, (normal(3, 4), normal(4, 5))),
    OpCase("matmul batched", cr.matmul, (normal(2, 3, 4), normal(4, 2))),
    OpCase("matmul vector-matrix", cr.matmul, (normal(4), normal(4, 3))),
    OpCase("matmul matrix-vector", cr.matmul, (normal(3, 4), normal(4))),
    OpCase("matmul dot", cr.matmul, (normal(4), normal(4))),
    OpCase("linear", F.linear, (normal(5, 3), normal(4, 3), normal(4))),
    OpCase("linear no bias", F.linear, (normal(5, 3), normal(4, 3))),
    OpCase("linear 3-d input", F.linear, (normal(2, 5, 3), normal(4, 3), normal(4))),
    # shape
    OpCase("reshape", lambda x: x.reshape(4, 3) * 1.0, (normal(3, 4),)),
    OpCase("reshape -1", lambda x: x.reshape(-1), (normal(3, 4),)),
    OpCase("flatten", lambda x: x.flatten(1), (normal(2, 3, 4),)),
    OpCase("transpose", lambda x: x.T, (normal(3, 4),)),
    OpCase("permute", lambda x: x.permute(2, 0, 1), (normal(2, 3, 4),)),
    OpCase("broadcast_to", lambda x: x.broadcast_to((3, 4)) * 1.0, (normal(4),)),
    OpCase("expand -1", lambda x: x.expand(2, -1, 3) * 1.0, (normal(4, 1),)),
    OpCase("squeeze", lambda x: x.squeeze(), (normal(3, 1, 4),)),
    OpCase("squeeze axis", lambda x: x.squeeze(1), (normal(3, 1, 1),)),
    OpCase("unsqueeze", lambda x: x.unsqueeze(-1), (normal(3, 4),)),
    OpCase("index int", lambda x: x[1], (normal(3, 4),)),
    OpCase("index slice", lambda x: x[1:, ::2], (normal(3, 4),)),
    OpCase("index negative step", lambda x: x[::-1], (normal(3, 4),)),
    OpCase("index newaxis", lambda x: x[None, :, 2], (normal(3, 4),)),
    OpCase("index ellipsis", lambda x: x[..., 1], (normal(2, 3, 4),)),
    OpCase("index array repeats", lambda x, i: x[i], (normal(4, 3), indexes(0, 2, 0, 3, 0))),
    OpCase("index rows and columns", lambda x, i, j: x[i, j], (normal(4, 3), indexes(0, 2, 0),
                                                                  indexes(1, 1, 1))),
    OpCase("index list", lambda x: x[[0, 2, 2]], (normal(4, 3),)),
    OpCase("index boolean mask", lambda x: x[x > 0], (away_from_zero(3, 4),)),
    OpCase("cat", lambda x, y: cr.cat([x, y], axis=1), (normal(2, 3), normal(2, 4))),
    # selection
    OpCase("gather", lambda x, i: x.gather(1, i), (normal(3, 4), indexes_2d([[1, 1], [0, 3],
                                                                             [2, 2]]))),
    OpCase("sort", lambda x: x.sort(dim=1, descending=True).values, (distinct(3, 4),)),
    OpCase("topk", lambda x: x.topk(2, dim=0).values, (distinct(4, 3),)),
    OpCase("max(dim)", lambda x: x.max(1).values * 1.0, (distinct(3, 4),)),
    OpCase("min(dim) keepdim", lambda x: x.min(0, keepdim=True).values, (distinct(3, 4),)),
    OpCase("stack", lambda x, y: cr.stack([x, y], axis=-1), (normal(2, 3), normal(2, 3))),
    # activations
    OpCase("relu", F.relu, (away_from_zero(3, 4),)),
    OpCase("leaky_relu", lambda x: F.leaky_relu(x, 0.1), (away_from_zero(3, 4),)),
    OpCase("prelu one slope", F.prelu, (away_from_zero(3, 4), positive(1))),
    OpCase("prelu per channel", F.prelu, (away_from_zero(2, 3, 4), positive(3))),
    OpCase("elu", lambda x: F.elu(x, 0.7), (away_from_zero(3, 4),)),
    OpCase("sigmoid", F.sigmoid, (normal(3, 4),)),
    OpCase("tanh", F.tanh, (normal(3, 4),)),
    OpCase("softmax", lambda x: F.softmax(x, axis=1), (normal(3, 4),)),
    OpCase("log_softmax", lambda x: F.log_softmax(x, axis=0), (normal(3, 4),)),
    OpCase("maxout", lambda x: F.maxout(x, 2), (distinct(3, 6),)),
    OpCase("dropout", lambda x: F.dropout(x, 0.4), (normal(6, 5),), gradcheck=False,
           random=True),
    # images (NCHW)
    OpCase("conv2d", F.conv2d, (normal(2, 3, 6, 5), normal(4, 3, 3, 3), normal(4))),
    OpCase("conv2d same no bias", lambda x, w: F.conv2d(x, w, padding="same"),
           (normal(2, 2, 5, 5), normal(3, 2, 3, 3))),
    OpCase("conv2d stride padding dilation",
           lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=(1, 2), dilation=(2, 1)),
           (normal(2, 2, 7, 6), normal(3, 2, 2, 3), normal(3))),
    OpCase("conv2d groups", lambda x, w: F.conv2d(x, w, padding=1, groups=2),
           (normal(2, 4, 5, 5), normal(6, 2, 3, 3))),
    OpCase("max_pool2d", lambda x: F.max_pool2d(x, 2), (distinct(2, 3, 6, 4),)),
    OpCase("max_pool2d overlapping padded ceil",
           lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
           (distinct(2, 2, 7, 6),)),
    OpCase("max_pool2d dilation", lambda x: F.max_pool2d(x, 2, stride=1, dilation=2),
           (distinct(1, 2, 6, 6),)),
    OpCase("avg_pool2d", lambda x: F.avg_pool2d(x, 2), (normal(2, 3, 6, 4),)),
    OpCase("avg_pool2d padded ceil",
           lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                  count_include_pad=False), (normal(2, 2, 7, 6),)),
    OpCase("adaptive_avg_pool2d global", lambda x: F.adaptive_avg_pool2d(x, 1),
           (normal(2, 3, 4, 5),)),
    OpCase("adaptive_avg_pool2d bins", lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
           (normal(2, 3, 5, 7),)),
    OpCase("batch_norm images", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           (normal(4, 3, 3, 2), positive(3), normal(3))),
    OpCase("batch_norm images running statistics",
           lambda x, w, b: F.batch_norm(x, *_running(x, 3), w, b, training=True),
           (normal(4, 3, 3, 2), positive(3), normal(3))),
    OpCase("batch_norm images eval", lambda x, w, b: F.batch_norm(x, *_running(x, 3), w, b),
           (normal(4, 3, 3, 2), positive(3), normal(3))),
    OpCase("batch_norm features", lambda x, w: F.batch_norm(x, *_running(x, 4), w,
                                                            training=True, momentum=None,
                                                            num_batches_tracked=_count(x)),
           (normal(6, 4), positive(4))),
    OpCase("batch_norm features eval", lambda x: F.batch_norm(x, *_running(x, 3)),
           (normal(5, 3, 2),)),
    OpCase("dropout2d", lambda x: F.dropout2d(x, 0.4), (normal(3, 4, 2, 2),), gradcheck=False,
           random=True),
    # losses
    OpCase("cross_entropy", F.cross_entropy, (normal(5, 4), labels(5, 4))),
    OpCase("cross_entropy sum", lambda s, y: F.cross_entropy(s, y, reduction="sum"),
           (normal(5, 4), labels(5, 4))),
    OpCase("cross_entropy none", lambda s, y: F.cross_entropy(s, y, reduction="none"),
           (normal(5, 4), labels(5, 4))),
    OpCase("multiclass_hinge_loss", F.multiclass_hinge_loss, (distinct(5, 4), labels(5, 4))),
    OpCase("multiclass_hinge_loss none",
           lambda s, y: F.multiclass_hinge_loss(s, y, reduction="none"),
           (distinct(5, 4), labels(5, 4))),
    OpCase("mse_loss", F.mse_loss, (normal(4, 3), normal(4, 3))),
    OpCase("mse_loss sum", lambda p, t: F.mse_loss(p, t, reduction="sum"),
           (normal(4, 3), normal(4, 3))),
    OpCase("l2_loss", F.l2_loss, (normal(4, 3), normal(4, 3))),
    OpCase("l2_loss none", lambda p, t: F.l2_loss(p, t, reduction="none"),
           (normal(4, 3, 2), normal(4, 3, 2))),
    # weight penalties
    OpCase("l2_penalty", lambda w, v: cr.ops.l2_penalty([w, v], 0.3),
           (normal(3, 4), normal(2, 3))),
    OpCase("l1_penalty", lambda w, v: cr.ops.l1_penalty([w, v], 0.3),
           (away_from_zero(3, 4), away_from_zero(2, 3))),
]


def make_inputs(case: OpCase, seed: int = 0) -> list[np.ndarray]:
    """The case's inputs as NumPy arrays (float64 or integer), the same on every call."""
    rng = np.random.default_rng(seed)
    return [np.asarray(make(rng)) for make in case.inputs]


def on_device(arrays: list[np.ndarray], device: str, requires_grad: bool = True) -> list[Any]:
    """Tensors on ``device``: float64 ones require gradients, integer ones do not."""
    tensors = []
    for a in arrays:
        floating = a.dtype.kind == "f"
        tensors.append(cr.tensor(a, dtype="float64" if floating else None, device=device,
                                 requires_grad=floating and requires_grad))
    return tensors
