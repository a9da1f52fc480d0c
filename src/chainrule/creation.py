"""Making tensors: from data (``tensor``), filled (``zeros``, ``ones``, ``full``, ``eye``),
ranges (``arange``, ``linspace``) and random (``rand``, ``randn``), each with a ``*_like``.

Floats take the default floating type (float32 unless :func:`chainrule.set_default_dtype`
changed it) unless ``dtype`` says otherwise; a NumPy array given to ``tensor`` keeps its
dtype. Random tensors come from chainrule's seeded generator (:func:`chainrule.manual_seed`).

>>> cr.zeros(2, 3, dtype="float64", requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import random as _random
from chainrule._tensor import Tensor, _raw, _to_array
from chainrule.dtypes import as_dtype, get_default_dtype

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
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a tensor (copying ``data``), PyTorch's rule for its dtype.

    A NumPy array keeps its dtype (float64 stays float64); Python floats and lists of them
    take the default floating type (float32); integers stay integers; ``dtype`` overrides.

    >>> cr.tensor([[1, 2], [3, 4]])            # integers stay integers
    >>> cr.tensor(np.linspace(0, 1, 3)).dtype  # a NumPy array keeps its dtype
    dtype('float64')
    >>> cr.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    """
    if isinstance(data, Tensor):
        data = data.data
    arr = _to_array(data, dtype)
    if arr is data or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    t = Tensor._from_op(arr, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _make(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._from_op(arr, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape(shape), dtype=_float_dtype(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape(shape), dtype=_float_dtype(dtype)), requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None:
        dtype = (get_default_dtype() if isinstance(fill_value, float)
                 else np.asarray(fill_value).dtype)
    return _make(np.full(shape, fill_value, dtype=as_dtype(dtype)), requires_grad)


def arange(
    start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and arr.dtype.kind == "f":  # Python numbers: the default float type
        dtype = get_default_dtype()
    return _make(_to_array(arr, dtype), requires_grad)


def linspace(
    start: float, stop: float, num: int = 50, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    return _make(np.linspace(start, stop, num, dtype=_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from chainrule's seeded generator."""
    samples = _random.get_rng().random(_shape(shape), dtype=np.float64)
    return _make(samples.astype(_float_dtype(dtype)), requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from chainrule's seeded generator."""
    samples = _random.get_rng().standard_normal(_shape(shape))
    return _make(samples.astype(_float_dtype(dtype)), requires_grad)


def _like_dtype(t: Any, dtype: Any) -> Any:
    if dtype is not None:
        return dtype
    d = np.asarray(_raw(t)).dtype
    return d if d.kind == "f" else None


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(np.shape(_raw(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(np.shape(_raw(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def full_like(t: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return full(np.shape(_raw(t)), fill_value, dtype=_like_dtype(t, dtype) or get_default_dtype(),
                requires_grad=requires_grad)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(np.shape(_raw(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(np.shape(_raw(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)
