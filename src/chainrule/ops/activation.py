"""The lecture's activation functions as gates.

Each backward is written from the saved output or a mask, so no extra pass over the
input is needed (the sigmoid layer's ``top_diff * s * (1 - s)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import backend
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
    def forward(ctx: Context, x: Any) -> Any:
        out = backend.namespace(x).maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        (out,) = ctx.saved_tensors
        return upstream * backend.ones_where(raw(out) > 0, upstream)


class LeakyReLU(ElementwiseGate):
    """``x if x > 0 else slope * x`` (the lecture writes ``max(0.1x, x)``)."""

    symbol = "leaky_relu"
    kernel = "chainrule.compiler.activation_kernels:LeakyReLUKernel"
    parameters = ("negative_slope",)

    @staticmethod
    def forward(ctx: Context, x: Any, slope: float) -> Any:
        ctx.save_for_backward(x)
        ctx.slope = slope
        return backend.namespace(x).where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (x,) = ctx.saved_tensors
        x = raw(x)
        xp = backend.namespace(x)
        local = xp.where(x > 0, xp.ones_like(x), ctx.slope)
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
    def forward(ctx: Context, x: Any, weight: Any) -> Any:
        if weight.ndim != 1:
            raise ShapeError(f"prelu: weight must be 1-D, got shape {weight.shape}")
        channels = x.shape[1] if x.ndim >= 2 else 1  # PyTorch: below 2-D, one channel
        if weight.size not in (1, channels):
            raise ShapeError(
                f"prelu: weight of shape {weight.shape} needs 1 or {channels} slopes "
                f"for input of shape {x.shape}"
            )
        ctx.save_for_backward(x, weight)
        xp = backend.namespace(x)
        w = xp.reshape(weight, _channel_shape(x.ndim, weight.size))
        return xp.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, weight = ctx.saved_tensors
        ndim = raw(x).ndim
        w = backend.reshape(weight, _channel_shape(ndim, weight.size))
        negative = raw(x) <= 0
        gx = gw = None
        if ctx.needs_input_grad[0]:
            # The Tensor first: another library's array does not hand an operator with
            # a Tensor on its right over to the Tensor (NumPy does).
            gx = upstream * (w * backend.ones_where(negative, w)
                             + backend.ones_where(~negative, w))
        if ctx.needs_input_grad[1]:
            gw_full = upstream * x * backend.ones_where(negative, upstream)
            if weight.size == 1:
                gw = backend.reshape(backend.sum(gw_full), weight.shape)
            else:
                gw = backend.sum(gw_full, axis=tuple(i for i in range(ndim) if i != 1))
        return gx, gw


class ELU(ElementwiseGate):
    """``x if x > 0 else alpha (e^x - 1)``. Local gradient 1, or ``out + alpha``."""

    symbol = "elu"
    kernel = "chainrule.compiler.activation_kernels:ELUKernel"
    parameters = ("alpha",)

    @staticmethod
    def forward(ctx: Context, x: Any, alpha: float) -> Any:
        xp = backend.namespace(x)
        out = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(x, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        x, out = ctx.saved_tensors
        positive = raw(x) > 0
        if isinstance(out, Tensor):
            return upstream * ((out + ctx.alpha) * backend.ones_where(~positive, out)
                               + backend.ones_where(positive, out)), None
        return upstream * backend.namespace(out).where(positive, 1.0, out + ctx.alpha), None


class Sigmoid(ElementwiseGate):
    """``1 / (1 + e^-x)``. Local gradient ``(1 - s) s`` from the saved output s.

    Stable at +-300: ``e^-|x|`` never overflows.
    """

    symbol = "sigmoid"
    kernel = "chainrule.compiler.activation_kernels:SigmoidKernel"

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = backend.namespace(x)
        e = xp.exp(-xp.abs(x))
        r = 1 / (1 + e)
        out = xp.where(x >= 0, r, e * r)
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
    def forward(ctx: Context, x: Any) -> Any:
        out = backend.namespace(x).tanh(x)
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
    def forward(ctx: Context, x: Any, pieces: int) -> Any:
        xp = backend.namespace(x)
        grouped = xp.reshape(x, (*x.shape[:-1], x.shape[-1] // pieces, pieces))
        out = xp.max(grouped, axis=-1, keepdims=True)
        ctx.save_for_backward(grouped, out)
        return xp.reshape(out, out.shape[:-1])

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        grouped, out = ctx.saved_tensors
        grouped, out = raw(grouped), raw(out)
        winners = backend.astype(grouped == out, "float64")
        share = winners / backend.sum(winners, axis=-1, keepdims=True)
        g = backend.reshape(upstream, out.shape) * backend.astype(share, grouped.dtype,
                                                                   copy=False)
        return backend.reshape(g, (*g.shape[:-2], g.shape[-2] * g.shape[-1])), None


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
    def forward(ctx: Context, x: Any, axis: int) -> Any:
        xp = backend.namespace(x)
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        out = e / xp.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (s,) = ctx.saved_tensors
        return s * (upstream - backend.sum(upstream * s, axis=ctx.axis, keepdims=True)), None


class LogSoftmax(UnaryGate):
    """``x - logsumexp(x)`` along ``axis``. Backward: ``upstream - softmax * sum(upstream)``."""

    symbol = "log_softmax"
    parameters = ("axis",)

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return "upstream - softmax * sum(upstream)"

    @staticmethod
    def forward(ctx: Context, x: Any, axis: int) -> Any:
        xp = backend.namespace(x)
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        (out,) = ctx.saved_tensors
        return upstream - exp(out) * backend.sum(upstream, axis=ctx.axis, keepdims=True), None


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
