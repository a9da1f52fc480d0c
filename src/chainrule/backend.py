"""Array backends: the array namespace an op computes with, taken from its inputs.

``Tensor.data`` is an array of some library: NumPy on the CPU, and (through the Python
array API standard) others such as CuPy on a GPU or ``array_api_strict`` in the
portability tests. An op asks :func:`namespace` for the module of its inputs (``xp``)
and computes with ``xp.exp``, ``xp.matmul``, ...; NumPy arrays get NumPy itself, so the
CPU path pays one dictionary lookup per op. What the standard lacks lives in this module
too, once, instead of in every op.

>>> import numpy as np
>>> namespace(np.ones(3)) is np
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["namespace"]

#: Namespace by array type, filled on first sight of each type.
_NAMESPACES: dict[type, Any] = {np.ndarray: np}


def namespace(*arrays: Any) -> Any:
    """The array namespace (``xp``) of the first array among ``arrays``; NumPy if none.

    Python numbers and ``None`` are skipped. An array type seen for the first time is
    looked up with ``array_api_compat.array_namespace`` and remembered.
    """
    for a in arrays:
        xp = _NAMESPACES.get(type(a))
        if xp is not None:
            return xp
        if hasattr(a, "__array_namespace__") or type(a).__module__.startswith("cupy"):
            from array_api_compat import array_namespace

            xp = array_namespace(a)
            _NAMESPACES[type(a)] = xp
            return xp
    return np
