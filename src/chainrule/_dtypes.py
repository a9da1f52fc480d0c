"""Data types across libraries, named as NumPy names them (``chainrule.backend`` exports these).

NumPy and CuPy share NumPy's dtype objects; ``array_api_strict`` has its own, which must
not be compared with NumPy's (it warns). Tensors report NumPy's (``t.dtype``) on every
device; an op that makes an array asks :func:`native_dtype` for its library's spelling.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["is_floating", "native_dtype", "numpy_dtype"]

#: Every dtype chainrule meets, by the NumPy name the libraries share.
_DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float16", "float32", "float64", "complex64", "complex128")
#: Other libraries' dtype objects as NumPy's, by type and name (the library's own ``==``
#: warns when it meets a NumPy dtype, so they are not dictionary keys themselves).
_FOREIGN_DTYPES: dict[tuple[type, str], np.dtype] = {}


def numpy_dtype(dtype: Any) -> np.dtype:
    """``dtype`` (NumPy's, a name, or another library's, e.g. ``xp.float32``) as NumPy's.

    >>> numpy_dtype("float64")
    dtype('float64')
    """
    if isinstance(dtype, np.dtype):
        return dtype
    key = (type(dtype), repr(dtype))
    found = _FOREIGN_DTYPES.get(key)
    if found is not None:
        return found
    try:
        return np.dtype(dtype)
    except TypeError:  # another library's dtype object: match it by name in its library
        pass
    library = sys.modules.get(type(dtype).__module__.partition(".")[0])
    names = [n for n in _DTYPE_NAMES
             if type(getattr(library, n, None)) is type(dtype) and getattr(library, n) == dtype]
    if not names:
        raise TypeError(f"dtype: {dtype!r} is not a data type chainrule knows")
    found = _FOREIGN_DTYPES[key] = np.dtype(names[0])
    return found


def native_dtype(xp: Any, dtype: Any) -> Any:
    """``dtype`` (any spelling) as the dtype namespace ``xp`` takes (NumPy's for NumPy
    and CuPy, the library's own dtype object elsewhere)."""
    dt = numpy_dtype(dtype)
    native = getattr(xp, dt.name, None)
    return dt if native is None or native is dt.type else native


def is_floating(dtype: Any) -> bool:
    """Whether ``dtype`` (any library's) is a real floating-point type."""
    return numpy_dtype(dtype).kind == "f"
