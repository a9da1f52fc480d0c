"""NumPy under the array API's names, without NumPy's slower Python wrappers.

:func:`chainrule.backend.namespace` gives this namespace for NumPy arrays. It is NumPy
itself (``xp.exp is np.exp``), except for the standard's names that NumPy implements as
Python wrappers costing microseconds per call on small arrays: ``sum``, ``max`` and
``min`` are the ufunc reductions they call (C callables with the standard's default of
all axes), ``mean``, ``reshape``, ``permute_dims``, ``matrix_transpose``, ``astype`` and
``expand_dims`` call the ``ndarray`` method. The results are NumPy's own, bit for bit.
Before NumPy 2.1 (an older array API) the base is ``array_api_compat.numpy``.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

__all__ = ["numpy_namespace"]


def numpy_namespace() -> types.ModuleType:
    """A new namespace: NumPy, with the fast callables above under the standard's names."""
    base: Any = np
    if getattr(np, "__array_api_version__", "") < "2023.12":  # NumPy < 2.1
        import array_api_compat.numpy as base
    ns = types.ModuleType("chainrule.backend.numpy", "NumPy's functions, array API names.")
    # The reductions as C callables: the ufunc's reduce with the standard's default axis.
    ns.sum = functools.partial(np.add.reduce, axis=None)
    ns.max = functools.partial(np.maximum.reduce, axis=None)
    ns.min = functools.partial(np.minimum.reduce, axis=None)

    def mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
        return x.mean(axis=axis, keepdims=keepdims)

    def reshape(x: Any, /, shape: tuple, *, copy: bool | None = None) -> Any:
        return x.reshape(shape) if copy is None else base.reshape(x, shape, copy=copy)

    def permute_dims(x: Any, /, axes: tuple) -> Any:
        return x.transpose(axes)

    def matrix_transpose(x: Any, /) -> Any:
        return x.swapaxes(-1, -2)

    def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
        return x.astype(dtype, copy=copy)

    def expand_dims(x: Any, /, axis: int = 0) -> Any:
        shape = list(x.shape)
        shape.insert(axis % (x.ndim + 1), 1)
        return x.reshape(shape)

    for fn in (mean, reshape, permute_dims, matrix_transpose, astype, expand_dims):
        setattr(ns, fn.__name__, fn)

    def fallback(name: str) -> Any:
        value = getattr(base, name)
        setattr(ns, name, value)  # found once; later lookups are plain attribute hits
        return value

    ns.__getattr__ = fallback  # type: ignore[method-assign]
    return ns
