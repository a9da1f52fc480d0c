"""Weight initialization, in place, from chainrule's seeded generator (``cr.manual_seed``)
of the weight's device.

For a weight of shape ``(out, in)`` (PyTorch's layout) ``fan_in = in`` and
``fan_out = out``; for more dimensions each is multiplied by the receptive field size.

=====================  ==============================================================
function               distribution
=====================  ==============================================================
``uniform_``           ``U(a, b)``
``normal_``            ``N(mean, std^2)``
``zeros_``/``ones_``   constant 0 / 1; ``constant_(t, v)``: constant ``v``
``xavier_uniform_``    Glorot: ``U(-b, b)``, ``b = gain sqrt(6 / (fan_in + fan_out))``
``xavier_normal_``     Glorot: ``N(0, s^2)``, ``s = gain sqrt(2 / (fan_in + fan_out))``
``kaiming_uniform_``   He: ``U(-b, b)``, ``b = gain sqrt(3 / fan)``
``kaiming_normal_``    He: ``N(0, s^2)``, ``s = gain / sqrt(fan)``
=====================  ==============================================================

``fan`` is ``fan_in`` (``mode='fan_in'``, keeps the forward variance) or ``fan_out``
(keeps the backward variance); ``gain`` comes from :func:`calculate_gain`, e.g.
``sqrt(2)`` for ReLU. ``Linear``'s default is ``kaiming_uniform_(w, a=sqrt(5))``, i.e.
``U(-1/sqrt(in), 1/sqrt(in))`` for both weight and bias (PyTorch's default).

>>> w = cr.zeros(100, 50)
>>> nn.init.kaiming_normal_(w, nonlinearity="relu")   # std = sqrt(2 / 50) = 0.2
"""

from __future__ import annotations

import math
from typing import Any

from chainrule import backend, random
from chainrule._tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "fan_in_and_fan_out",
    "kaiming_normal_",
    "kaiming_uniform_",
    "layer_default_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _array(t: Any) -> Any:
    arr = t.data if isinstance(t, Tensor) else t
    if not backend.is_array(arr) or not backend.is_floating(arr.dtype):
        raise TypeError("nn.init: expected a floating-point Tensor or NumPy array")
    return arr


def _fill(t: Any, values: Any) -> Any:
    backend.assign(_array(t), values)
    return t


def fan_in_and_fan_out(t: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    shape = _array(t).shape
    if len(shape) < 2:
        raise ValueError(f"nn.init: fan in and fan out need at least 2 dimensions, got {shape}")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance: 1 (linear, sigmoid), 5/3 (tanh),
    ``sqrt(2)`` (relu), ``sqrt(2 / (1 + slope^2))`` (leaky_relu), 3/4 (selu)."""
    linear_like = ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid")
    if nonlinearity in linear_like:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
        f"{', '.join((*linear_like, 'tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def uniform_(t: Any, a: float = 0.0, b: float = 1.0) -> Any:
    """Fill with samples of ``U(a, b)``."""
    arr = _array(t)
    return _fill(t, random.uniform(arr.shape, a, b, backend.device_of(arr)))


def normal_(t: Any, mean: float = 0.0, std: float = 1.0) -> Any:
    """Fill with samples of ``N(mean, std^2)``."""
    arr = _array(t)
    return _fill(t, random.normal(arr.shape, mean, std, backend.device_of(arr)))


def constant_(t: Any, value: float) -> Any:
    """Fill with ``value``."""
    _array(t)[...] = value
    return t


def zeros_(t: Any) -> Any:
    return constant_(t, 0.0)


def ones_(t: Any) -> Any:
    return constant_(t, 1.0)


def xavier_uniform_(t: Any, gain: float = 1.0) -> Any:
    """Glorot uniform: ``U(-b, b)`` with ``b = gain sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Any, gain: float = 1.0) -> Any:
    """Glorot normal: ``N(0, s^2)`` with ``s = gain sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _fan(t: Any, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(t: Any, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Any:
    """He uniform: ``U(-b, b)`` with ``b = gain sqrt(3 / fan)``; ``a`` is the leaky slope."""
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(t, mode))
    return uniform_(t, -bound, bound)


def layer_default_(weight: Any, bias: Any = None) -> None:
    """PyTorch's default for Linear and Conv2d layers: the weight from
    ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and the
    bias (when there is one) from the same range."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in_and_fan_out(weight)[0])
        uniform_(bias, -bound, bound)


def kaiming_normal_(t: Any, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Any:
    """He normal: ``N(0, s^2)`` with ``s = gain / sqrt(fan)``; ReLU nets use
    ``nonlinearity='relu'`` (``s = sqrt(2 / fan)``)."""
    gain = calculate_gain(nonlinearity, a)
    return normal_(t, 0.0, gain / math.sqrt(_fan(t, mode)))
