"""``y += alpha * x`` in one pass on the CPU: BLAS ``axpy`` from NumPy's own OpenBLAS.

The CPU fast path behind :func:`chainrule.backend.add_scaled` (which optimizers call).

NumPy has no scaled add, so an optimizer's ``w -= lr * d`` costs two passes over memory
(``t = lr * d``, then ``w -= t``). On large parameters the update then takes as long as a
matrix product; BLAS ``axpy`` does it in one pass, on the BLAS threads NumPy already runs.

NumPy's Linux and Windows wheels ship OpenBLAS built as ``scipy-openblas64`` (64-bit
integers, symbols ``scipy_cblas_saxpy64_``/``scipy_cblas_daxpy64_``). This module finds
that library next to NumPy, checks the two symbols on a small example, and uses them for
arrays of at least ``MIN_SIZE`` elements (below that, looking up the pointers costs more
than the second pass). Anywhere else (another BLAS, another layout of the wheel) it
quietly uses NumPy's two passes: same values up to rounding, just slower.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable

import numpy as np

__all__ = ["MIN_SIZE", "add_scaled"]

#: Arrays smaller than this take NumPy's two passes.
MIN_SIZE = 1 << 15

_AXPY: dict[np.dtype, Callable] | None = None  # by dtype; {} when unavailable


def _library_candidates() -> list[str]:
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(os.path.dirname(root), "numpy.libs", "*scipy_openblas64*"),
                os.path.join(root, ".dylibs", "*scipy_openblas64*")]
    return sorted(p for pattern in patterns for p in glob.glob(pattern))


def _load() -> dict[np.dtype, Callable]:
    for path in _library_candidates():
        try:
            lib = ctypes.CDLL(path)
            found = {}
            for dtype, name, scalar in ((np.float32, "scipy_cblas_saxpy64_", ctypes.c_float),
                                        (np.float64, "scipy_cblas_daxpy64_", ctypes.c_double)):
                fn = getattr(lib, name)
                fn.restype = None
                fn.argtypes = [ctypes.c_int64, scalar, ctypes.c_void_p, ctypes.c_int64,
                               ctypes.c_void_p, ctypes.c_int64]
                found[np.dtype(dtype)] = fn
        except (OSError, AttributeError):
            continue
        if all(_works(fn, dtype) for dtype, fn in found.items()):
            return found
    return {}


def _works(fn: Callable, dtype: np.dtype) -> bool:
    """The symbol computes ``y + alpha x`` on a small example (else it is not used)."""
    x = np.arange(1, 8, dtype=dtype)
    y = np.full(7, 10, dtype=dtype)
    fn(7, -0.5, x.ctypes.data, 1, y.ctypes.data, 1)
    return bool(np.array_equal(y, 10 - 0.5 * np.arange(1, 8, dtype=dtype)))


def _axpy(dtype: np.dtype) -> Callable | None:
    global _AXPY
    if _AXPY is None:
        _AXPY = _load()
    return _AXPY.get(dtype)


def add_scaled(y: np.ndarray, alpha: float, x: np.ndarray, scratch: np.ndarray) -> None:
    """``y += alpha * x`` in place; ``scratch`` (``y``'s shape) serves NumPy's two passes.

    ``x`` is left unchanged unless it is ``scratch`` itself. One BLAS pass when ``x`` and
    ``y`` are large, contiguous, of one float dtype and laid out alike.
    """
    if y.size >= MIN_SIZE and x.dtype == y.dtype and x.strides == y.strides and (
            y.flags.c_contiguous or y.flags.f_contiguous):
        axpy = _axpy(y.dtype)
        if axpy is not None:
            axpy(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
            return
    np.multiply(x, alpha, out=scratch)
    np.add(y, scratch, out=y)
