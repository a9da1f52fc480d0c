"""Moving a tensor between devices as a gate: ``t.to('cuda')`` keeps the graph.

The forward copies the data to the other device; the backward copies the upstream
gradient back, so a loss computed on a GPU from a CPU tensor still reaches its gradient.
"""

from __future__ import annotations

from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.devices import Device
from chainrule.function import Context
from chainrule.ops._common import UnaryGate


class ToDevice(UnaryGate):
    """The same values on another device; the gradient goes back to where x was."""

    symbol = "to"
    parameters = ("device",)

    @staticmethod
    def forward(ctx: Context, x: Any, device: Device) -> Any:
        ctx.source = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> tuple:
        if isinstance(upstream, Tensor):
            return to_device(upstream, ctx.source), None
        return backend.to_device(upstream, ctx.source), None


def to_device(x: Tensor, device: Any) -> Tensor:
    """``x`` on ``device`` (``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'array_api_strict'``).

    >>> cr.ops.device.to_device(cr.tensor([1.0]), "cpu").device
    device(type='cpu')
    """
    return ToDevice.apply(x, Device(device))
