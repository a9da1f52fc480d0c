"""Batch normalization as one gate, for ``(N, C)``, ``(N, C, L)`` and ``(N, C, H, W)`` inputs.

Per channel ``c`` (statistics over every axis but the channel axis 1)::

    xhat = (x - mean) / sqrt(var + eps)          y = gamma * xhat + beta

In training the mean and (biased) variance are the batch's; they depend on x, and the
backward is (means over the same axes)::

    dxhat = upstream * gamma
    dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)
    dgamma = sum(upstream * xhat)       dbeta = sum(upstream)

In evaluation the running statistics are constants and ``dx = dxhat / sqrt(var + eps)``.

Images ``(N, C, H, W)`` are large: there the same formulas are regrouped per channel so
that each pass over the image does more (``s = 1 / sqrt(var + eps)``, ``n = N H W``,
``xc = x - mean``)::

    y = xc * (gamma s) + beta
    dx = upstream * (gamma s) - xc * (gamma s^3 sum(upstream * xc) / n)
         - gamma s sum(upstream) / n

with the per-channel sums taken in one pass each (:func:`chainrule._images.channel_dots`).
Features (2-D, 3-D) keep the textbook form above, whose numbers BatchNorm1d always gave.

**Running statistics** are updated inside ``forward`` in training, exactly as PyTorch
does: ``running = (1 - momentum) running + momentum batch`` with the *unbiased* batch
variance (``var * n / (n - 1)``) for ``running_var``, and ``num_batches_tracked`` counted
up (``momentum=None``: the cumulative average, factor ``1 / num_batches_tracked``).
Because the update is part of the op, a compiled step that replays the op updates them
too (it announces the write with :func:`chainrule.function.updates_state`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chainrule._images import channel_dots, channel_sums
from chainrule._tensor import Tensor
from chainrule.backend import namespace
from chainrule.errors import ShapeError
from chainrule.function import Context, updates_state
from chainrule.ops._common import Gate, operand

__all__ = ["BatchNorm", "batch_norm"]


def _check(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any) -> int:
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input with a channel axis (N, C, ...), got "
                         f"shape {tuple(x.shape)}")
    c = int(x.shape[1])
    for name, value in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                        ("running_var", running_var)):
        if value is not None and tuple(value.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} of shape {tuple(value.shape)} does not fit "
                             f"input of shape {tuple(x.shape)} ({c} channels)")
    return c


class BatchNorm(Gate):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` per channel, in one node.

    Batch statistics when ``training`` (or without running statistics), which then move
    the running ones; the running statistics otherwise. Forward saves ``xhat`` and
    ``1 / sqrt(var + eps)``.
    """

    symbol = "batch_norm"
    kernel = "chainrule.compiler.normalization_kernels:BatchNormKernel"
    operands = ("x", "weight", "bias")
    parameters = ("running_mean", "running_var", "num_batches_tracked", "training",
                  "momentum", "eps")
    differentiable_backward = False

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        return ("(dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)",
                "sum of upstream * xhat per channel", "sum of upstream per channel")[min(k, 2)]

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any,
                running_var: Any, num_batches_tracked: Any, training: bool,
                momentum: float | None, eps: float) -> Any:
        c = _check(x, weight, bias, running_mean, running_var)
        if x.ndim == 4:
            return _forward_images(ctx, x, weight, bias, running_mean, running_var,
                                   num_batches_tracked, training, momentum, eps)
        xp = namespace(x)
        axes = (0, *range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        batch_stats = training or running_mean is None
        if batch_stats:
            count = math.prod(x.shape) // c
            if training and count < 2:
                raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                                 f"training, got input of shape {tuple(x.shape)}")
            mean = xp.mean(x, axis=axes, keepdims=True)
            xhat = x - mean
            var = xp.mean(xhat * xhat, axis=axes, keepdims=True)  # = x.var(axis=axes)
            if training and running_mean is not None:
                unbiased = xp.reshape(var, (c,)) * (count / (count - 1))
                _update_running(running_mean, running_var, num_batches_tracked, momentum,
                                xp.reshape(mean, (c,)), unbiased)
        else:
            mean = xp.astype(xp.reshape(running_mean, shape), x.dtype)
            var = xp.astype(xp.reshape(running_var, shape), x.dtype)
            xhat = x - mean
        inv_std = 1.0 / xp.sqrt(var + eps)
        xhat *= inv_std
        w = None if weight is None else xp.reshape(weight, shape)
        out = xhat * w if w is not None else xp.asarray(xhat, copy=True)
        if bias is not None:
            out += xp.reshape(bias, shape)
        ctx.save_for_backward(xhat, inv_std, w)
        ctx.axes, ctx.batch_stats, ctx.images = axes, batch_stats, False
        return out

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        if ctx.images:
            return _backward_images(ctx, upstream)
        xhat, inv_std, w = ctx.saved_tensors
        axes = ctx.axes
        xp = namespace(upstream)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gw = xp.sum(upstream * xhat, axis=axes) if need_w else None
        gb = xp.sum(upstream, axis=axes) if need_b else None
        gx = None
        if need_x:
            dxhat = upstream * w if w is not None else upstream
            if ctx.batch_stats:
                spread = xp.mean(dxhat * xhat, axis=axes, keepdims=True)
                gx = dxhat - xp.mean(dxhat, axis=axes, keepdims=True)
                gx -= xhat * spread
                gx *= inv_std
            else:
                gx = dxhat * inv_std
        return gx, gw, gb, None, None, None, None, None, None


def _per_channel(v: Any) -> Any:
    """A (C,) vector shaped to broadcast over (N, C, H, W)."""
    return namespace(v).reshape(v, (1, -1, 1, 1))


def _forward_images(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any,
                    running_var: Any, num_batches_tracked: Any, training: bool,
                    momentum: float | None, eps: float) -> Any:
    """Batch norm of (N, C, H, W) images, per channel (see the module docstring)."""
    xp = namespace(x)
    n = x.shape[0] * x.shape[2] * x.shape[3]
    batch_stats = training or running_mean is None
    if batch_stats:
        if training and n < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(x.shape)}")
        mean = channel_sums(x) / n
        centered = x - _per_channel(mean)
        var = channel_dots(centered, centered) / n
        if training and running_mean is not None:
            _update_running(running_mean, running_var, num_batches_tracked, momentum, mean,
                            var * (n / (n - 1)))
    else:
        centered = x - _per_channel(xp.astype(running_mean, x.dtype))
        var = xp.astype(running_var, x.dtype)
    inv_std = 1.0 / xp.sqrt(var + eps)
    scale = inv_std if weight is None else weight * inv_std
    out = centered * _per_channel(scale)
    if bias is not None:
        out += _per_channel(bias)
    ctx.save_for_backward(centered, inv_std, scale)
    ctx.batch_stats, ctx.images, ctx.count = batch_stats, True, n
    return out


def _backward_images(ctx: Context, upstream: Any) -> tuple:
    """dx, dgamma, dbeta of :func:`_forward_images` (see the module docstring)."""
    centered, inv_std, scale = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    summed = channel_sums(upstream) if need_b or (need_x and ctx.batch_stats) else None
    dots = channel_dots(upstream, centered) if need_w or (need_x and ctx.batch_stats) else None
    gx = None
    if need_x:
        gx = upstream * _per_channel(scale)
        if ctx.batch_stats:
            n = ctx.count
            gx -= centered * _per_channel(scale * inv_std * inv_std * dots / n)
            gx -= _per_channel(scale * summed / n)
    gw = dots * inv_std if need_w else None
    return gx, gw, summed if need_b else None, None, None, None, None, None, None


def _update_running(running_mean: Any, running_var: Any, num_batches_tracked: Any,
                    momentum: float | None, mean: Any, unbiased_var: Any) -> None:
    """``running = (1 - factor) running + factor batch``, in place (PyTorch's update)."""
    xp = namespace(running_mean)
    tracked = [] if num_batches_tracked is None else [num_batches_tracked]
    updates_state(running_mean, running_var, *tracked)
    if num_batches_tracked is not None:
        num_batches_tracked += 1
    factor = 1.0 / float(num_batches_tracked) if momentum is None else float(momentum)
    running_mean *= 1 - factor
    running_mean += factor * xp.astype(mean, running_mean.dtype)
    running_var *= 1 - factor
    running_var += factor * xp.astype(unbiased_var, running_var.dtype)


def _state(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def batch_norm(x: Any, running_mean: Any, running_var: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5, *, num_batches_tracked: Any = None) -> Tensor:
    """Batch normalization over every axis but the channel axis 1 (PyTorch's signature).

    ``running_mean``/``running_var`` (arrays or Tensors of shape ``(C,)``, or None) are
    used in evaluation and updated in place in training. ``num_batches_tracked`` (a 0-d
    integer array) is counted up with them; it is needed for ``momentum=None`` (the
    cumulative average).

    >>> mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    >>> y = F.batch_norm(cr.randn(8, 3, 4, 4), mean, var, training=True)
    >>> y.shape, bool(mean.any())         # normalized; the running mean moved
    ((8, 3, 4, 4), True)
    """
    like = weight if isinstance(weight, Tensor) else None
    if not isinstance(x, Tensor):
        x = operand(x, like) if like is not None else Tensor(x)
    if momentum is None and training and running_mean is not None and num_batches_tracked is None:
        raise ValueError("batch_norm: momentum=None (a cumulative average) needs "
                         "num_batches_tracked")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    return BatchNorm.apply(x, weight, bias, _state(running_mean), _state(running_var),
                           _state(num_batches_tracked), bool(training), momentum, float(eps))
