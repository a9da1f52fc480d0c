"""Making tensors: from data (``tensor``), filled (``zeros``, ``ones``, ``full``, ``eye``),
ranges (``arange``, ``linspace``) and random (``rand``, ``randn``), each with a ``*_like``.

Floats take the default floating type (float32 unless :func:`chainrule.set_default_dtype`
changed it) unless ``dtype`` says otherwise; a NumPy array given to ``tensor`` keeps its
dtype. Random tensors come from chainrule's seeded generator (:func:`chainrule.manual_seed`).
``device=`` puts the tensor on a device (``'cpu'``, the default, ``'cuda'``, ``'cuda:1'``);
the ``*_like`` functions use the device of the tensor they copy.

>>> cr.zeros(2, 3, dtype="float64", requires_grad=True)
>>> cr.ones(2, device="cpu").device
device(type='cpu')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend
from chainrule import random as _random
from chainrule._tensor import Tensor, _as_dtype, _raw, _to_array
from chainrule.devices import Device
from chainrule.dtypes import get_default_dtype

__all__ = [
    "arange",
    "eye",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "tensor",
    "zeros",
    "zeros_like",
]


def _shape(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


def _float_dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else _as_dtype(dtype)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """Make a tensor (copying ``data``), PyTorch's rule for its dtype.

    A NumPy array keeps its dtype (float64 stays float64); Python floats and lists of them
    take the default floating type (float32); integers stay integers; ``dtype`` overrides.
    ``device`` moves it (default: where ``data`` is; lists and NumPy arrays: the CPU).

    >>> cr.tensor([[1, 2], [3, 4]])            # integers stay integers
    >>> cr.tensor(np.linspace(0, 1, 3)).dtype  # a NumPy array keeps its dtype
    dtype('float64')
    >>> cr.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    """
    if isinstance(data, Tensor):
        data = data.data
    arr = _to_array(data, dtype)
    if device is not None and not Device(device).includes(backend.device_of(arr)):
        arr = backend.to_device(arr, device)
    elif arr is data or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = backend.copy(arr)
    return _make(arr, requires_grad)


def _make(arr: Any, requires_grad: bool, device: Any = None) -> Tensor:
    if device is not None:
        arr = backend.to_device(arr, device)
    t = Tensor._from_op(arr, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    return _make(np.zeros(_shape(shape), dtype=_float_dtype(dtype)), requires_grad, device)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    return _make(np.ones(_shape(shape), dtype=_float_dtype(dtype)), requires_grad, device)


def full(shape: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None:
        dtype = (get_default_dtype() if isinstance(fill_value, float)
                 else np.asarray(fill_value).dtype)
    return _make(np.full(shape, fill_value, dtype=_as_dtype(dtype)), requires_grad, device)


def arange(
    start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
    requires_grad: bool = False, device: Any = None,
) -> Tensor:
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and arr.dtype.kind == "f":  # Python numbers: the default float type
        dtype = get_default_dtype()
    return _make(_to_array(arr, dtype), requires_grad, device)


def linspace(
    start: float, stop: float, num: int = 50, dtype: Any = None, requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    return _make(np.linspace(start, stop, num, dtype=_float_dtype(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False,
        device: Any = None) -> Tensor:
    return _make(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """Uniform samples in [0, 1) from chainrule's seeded generator (of ``device``)."""
    samples = _random.random(_shape(shape), device)
    return _make(backend.astype(samples, _float_dtype(dtype)), requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Standard normal samples from chainrule's seeded generator (of ``device``)."""
    samples = _random.standard_normal(_shape(shape), device)
    return _make(backend.astype(samples, _float_dtype(dtype)), requires_grad)


def _like(t: Any, dtype: Any, device: Any) -> dict:
    """``dtype`` and ``device`` for a ``*_like`` factory: given, else ``t``'s (float only)."""
    raw = _raw(t)
    if dtype is None:
        d = backend.numpy_dtype(raw.dtype) if hasattr(raw, "dtype") else np.asarray(raw).dtype
        dtype = d if d.kind == "f" else None
    if device is None and backend.is_device_array(raw):
        device = backend.device_of(raw)
    return {"dtype": dtype, "device": device}


def _shape_of(t: Any) -> tuple:
    raw = _raw(t)
    return tuple(raw.shape) if hasattr(raw, "shape") else np.shape(raw)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    return zeros(_shape_of(t), requires_grad=requires_grad, **_like(t, dtype, device))


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    return ones(_shape_of(t), requires_grad=requires_grad, **_like(t, dtype, device))


def full_like(t: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    like = _like(t, dtype, device)
    like["dtype"] = like["dtype"] or get_default_dtype()
    return full(_shape_of(t), fill_value, requires_grad=requires_grad, **like)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    return rand(_shape_of(t), requires_grad=requires_grad, **_like(t, dtype, device))


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    return randn(_shape_of(t), requires_grad=requires_grad, **_like(t, dtype, device))
