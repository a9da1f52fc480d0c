"""Data types: the names PyTorch code uses, and the default floating type.

The rule (PyTorch's): a NumPy array (or NumPy scalar) keeps its dtype when it becomes a
tensor, so ``cr.tensor(np.zeros(3))`` is float64; Python numbers and lists of them take
the *default* floating type, float32 unless :func:`set_default_dtype` changed it. So do
``cr.zeros``, ``cr.randn`` and the other factories, and the parameters of new layers.

>>> cr.tensor([1.0, 2.0]).dtype, cr.tensor(np.array([1.0, 2.0])).dtype
(dtype('float32'), dtype('float64'))
>>> cr.set_default_dtype(cr.float64)      # e.g. for a gradient check in double precision
>>> cr.tensor([1.0]).dtype
dtype('float64')
>>> cr.set_default_dtype(cr.float32)

The names ``cr.float``, ``cr.float32``, ``cr.double``, ``cr.float64``, ``cr.long``,
``cr.int64``, ``cr.int32``, ``cr.uint8`` and ``cr.bool`` are NumPy's dtype names (strings),
so they work wherever chainrule or NumPy takes a ``dtype``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NAMES", "as_dtype", "get_default_dtype", "set_default_dtype"]

#: PyTorch's dtype names -> NumPy's (``cr.float`` is float32, as ``torch.float`` is).
NAMES: dict[str, str] = {
    "float": "float32",
    "float32": "float32",
    "double": "float64",
    "float64": "float64",
    "half": "float16",
    "float16": "float16",
    "long": "int64",
    "int64": "int64",
    "int": "int32",
    "int32": "int32",
    "uint8": "uint8",
    "bool": "bool",
}

_default = np.dtype(np.float32)


def as_dtype(dtype: Any) -> np.dtype | None:
    """A NumPy dtype from a name (PyTorch's names included), a type or a dtype; None stays.

    >>> as_dtype("float"), as_dtype("double"), as_dtype(np.int64)
    (dtype('float32'), dtype('float64'), dtype('int64'))
    """
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return np.dtype(NAMES.get(dtype, dtype))
    return np.dtype(dtype)


def get_default_dtype() -> np.dtype:
    """The floating type of tensors made from Python numbers, factories and new layers."""
    return _default


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64) the default floating type, as in PyTorch.

    NumPy arrays are not affected: they keep their own dtype.
    """
    global _default
    dt = as_dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default, "
                        f"got {dt}")
    _default = dt
