"""The lecture's activation functions as gates.

Each backward is written from the saved output or a mask, so no extra pass over the
input is needed (the sigmoid layer's ``top_diff * s * (1 - s)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import Context
from chainrule.ops._common import ElementwiseGate, Gate, UnaryGate, exp, raw


class ReLU(ElementwiseGate):
    """``max(0, x)``. Backward: upstream where the output is positive, else 0."""

    symbol = "relu"
    kernel = "chainrule.compiler.activation_kernels:ReLUKernel"
    pattern = "max(0, x) gate: gradient router"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        return upstream * (raw(out) > 0)


class LeakyReLU(ElementwiseGate):
    """``x if x > 0 else slope * x`` (the lecture writes ``max(0.1x, x)``)."""

    symbol = "leaky_relu"
    kernel = "chainrule.compiler.activation_kernels:LeakyReLUKernel"
    parameters = ("negative_slope",)

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, slope: float) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (x,) = ctx.saved_tensors
        local = np.where(raw(x) > 0, 1.0, ctx.slope).astype(raw(x).dtype)
        return upstream * local, None


def _channel_shape(x_ndim: int, w_size: int) -> tuple:
    """Shape that broadcasts PReLU's weight along the channel axis (axis 1)."""
    if w_size == 1 or x_ndim < 2:
        return (w_size,) if x_ndim >= 1 else ()
    return (1, w_size) + (1,) * (x_ndim - 2)


class PReLU(Gate):
    """``x if x > 0 else a * x`` with a learned slope ``a`` (one, or one per channel).

    Local gradients: ``1`` or ``a`` for x; ``0`` or ``x`` for a, summed over every
    position that shares the slope (all but the channel axis 1).
    """

    symbol = "prelu"
    kernel = "chainrule.compiler.activation_kernels:PReLUKernel"
    operands = ("x", "weight")

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        if weight.ndim != 1:
            raise ShapeError(f"prelu: weight must be 1-D, got shape {weight.shape}")
        channels = x.shape[1] if x.ndim >= 2 else 1  # PyTorch: below 2-D, one channel
        if weight.size not in (1, channels):
            raise ShapeError(
                f"prelu: weight of shape {weight.shape} needs 1 or {channels} slopes "
                f"for input of shape {x.shape}"
            )
        ctx.save_for_backward(x, weight)
        w = weight.reshape(_channel_shape(x.ndim, weight.size))
        return np.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, weight = ctx.saved_tensors
        ndim = raw(x).ndim
        w = weight.reshape(_channel_shape(ndim, weight.size))
        negative = raw(x) <= 0
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = upstream * (~negative + w * negative)
        if ctx.needs_input_grad[1]:
            gw_full = upstream * x * negative
            if weight.size == 1:
                gw = gw_full.sum().reshape(weight.shape)
            else:
                gw = gw_full.sum(axis=tuple(i for i in range(ndim) if i != 1))
        return gx, gw


class ELU(ElementwiseGate):
    """``x if x > 0 else alpha (e^x - 1)``. Local gradient 1, or ``out + alpha``."""

    symbol = "elu"
    kernel = "chainrule.compiler.activation_kernels:ELUKernel"
    parameters = ("alpha",)

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, alpha: float) -> np.ndarray:
        out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        ctx.save_for_backward(x, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, out = ctx.saved_tensors
        positive = raw(x) > 0
        if isinstance(out, Tensor):
            return upstream * (positive + (out + ctx.alpha) * ~positive), None
        return upstream * np.where(positive, 1, out + ctx.alpha), None


class Sigmoid(ElementwiseGate):
    """``1 / (1 + e^-x)``. Local gradient ``(1 - s) s`` from the saved output s.

    Stable at +-300: ``e^-|x|`` never overflows.
    """

    symbol = "sigmoid"
    kernel = "chainrule.compiler.activation_kernels:SigmoidKernel"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        r = 1 / (1 + e)
        out = np.where(x >= 0, r, e * r)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        return upstream * out * (1 - out)


class Tanh(ElementwiseGate):
    """Hyperbolic tangent. Local gradient ``1 - tanh(x)^2`` from the saved output."""

    symbol = "tanh"
    kernel = "chainrule.compiler.activation_kernels:TanhKernel"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        return upstream * (1 - out * out)


class Maxout(UnaryGate):
    """Max over consecutive groups of ``pieces`` features: ``(..., F * pieces) -> (..., F)``.

    After a Linear with ``pieces`` times the outputs it is the maxout unit
    ``max(w1.x + b1, ..., wk.x + bk)``. Backward routes the upstream gradient to each
    group's winner; tied winners share it evenly (as ``max`` does), so it still sums to
    upstream.
    """

    symbol = "maxout"
    kernel = "chainrule.compiler.activation_kernels:MaxoutKernel"
    parameters = ("pieces",)
    pattern = "max gate: gradient router"

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "1 at each group's max, 0 elsewhere"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, pieces: int) -> np.ndarray:
        grouped = x.reshape((*x.shape[:-1], x.shape[-1] // pieces, pieces))
        out = np.max(grouped, axis=-1, keepdims=True)
        ctx.save_for_backward(grouped, out)
        return out.reshape(out.shape[:-1])

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        grouped, out = ctx.saved_tensors
        winners = raw(grouped) == raw(out)
        share = winners / winners.sum(axis=-1, keepdims=True)
        g = upstream.reshape(raw(out).shape) * share.astype(raw(grouped).dtype, copy=False)
        return g.reshape((*g.shape[:-2], g.shape[-2] * g.shape[-1])), None


class Softmax(UnaryGate):
    """``e^x / sum(e^x)`` along ``axis``, shifted by the max for stability.

    Backward without the Jacobian: ``s * (upstream - sum(upstream * s))``.
    """

    symbol = "softmax"
    parameters = ("axis",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "s * (upstream - sum(upstream * s))"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (s,) = ctx.saved_tensors
        return s * (upstream - (upstream * s).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(UnaryGate):
    """``x - logsumexp(x)`` along ``axis``. Backward: ``upstream - softmax * sum(upstream)``."""

    symbol = "log_softmax"
    parameters = ("axis",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "upstream - softmax * sum(upstream)"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = x - np.max(x, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (out,) = ctx.saved_tensors
        return upstream - exp(out) * upstream.sum(axis=ctx.axis, keepdims=True), None


def relu(x: Tensor) -> Tensor:
    """``max(0, x)``: the lecture's good default."""
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` for positive inputs, ``negative_slope * x`` otherwise."""
    return LeakyReLU.apply(x, float(negative_slope))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU whose slope ``weight`` is learned (1 value, or one per channel = axis 1).

    As in PyTorch, an input of fewer than 2 dimensions has a single channel.
    """
    return PReLU.apply(x, weight)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` for positive inputs, ``alpha (e^x - 1)`` otherwise."""
    return ELU.apply(x, float(alpha))


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + e^-x)``, stable for large |x|."""
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Probabilities along ``axis`` (stable: shifted by the max)."""
    return Softmax.apply(x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``log(softmax(x))`` computed stably."""
    return LogSoftmax.apply(x, axis)


def maxout(x: Tensor, pieces: int) -> Tensor:
    """Max over groups of ``pieces`` consecutive features of the last axis.

    ``(..., F * pieces) -> (..., F)``; the gradient is routed to each group's winner.
    """
    features = x.shape[-1] if x.ndim else 0
    if pieces < 1 or not x.ndim or features % pieces:
        raise ShapeError(
            f"maxout: the last axis has {features} features, not a multiple of pieces={pieces}"
        )
    return Maxout.apply(x, int(pieces))
