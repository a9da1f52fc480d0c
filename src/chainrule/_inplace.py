"""In-place namespaces: a library's functions writing into ``out=``, and ``add_scaled``.

:func:`chainrule.backend.inplace` gives one for an array. For NumPy and CuPy it hands out
the library's own functions (``xo.multiply is np.multiply``: no Python call in between),
which take ``out=``; for a library whose functions do not (``array_api_strict``), each
function computes its result and assigns it into ``out``. Optimizers write their updates
with it, as NumPy code: ``xo.multiply(w, wd, out=t0)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["AssigningNamespace", "OutNamespace", "two_pass_add_scaled"]

AddScaled = Callable[[Any, float, Any, Any], None]


def two_pass_add_scaled(multiply: Callable[..., Any]) -> AddScaled:
    """``y += alpha * x`` as two passes, ``scratch = alpha * x`` then ``y += scratch``."""

    def add_scaled(y: Any, alpha: float, x: Any, scratch: Any) -> None:
        multiply(x, alpha, out=scratch)
        y += scratch

    return add_scaled


class OutNamespace:
    """A library whose functions take ``out=`` (NumPy, CuPy): its own functions, looked
    up once each, and ``add_scaled`` (BLAS ``axpy`` on the CPU)."""

    def __init__(self, module: Any, add_scaled: AddScaled | None = None) -> None:
        self._module = module
        self.add_scaled = add_scaled or two_pass_add_scaled(module.multiply)

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._module, name)
        setattr(self, name, fn)  # later lookups are plain attribute hits
        return fn


class AssigningNamespace:
    """A library without ``out=``: ``fn(*args, out=o)`` computes and assigns into ``o``."""

    def __init__(self, xp: Any) -> None:
        self._xp = xp
        self.add_scaled = two_pass_add_scaled(self.multiply)

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._xp, name)

        def into(*args: Any, out: Any) -> Any:
            out[...] = fn(*args)
            return out

        setattr(self, name, into)
        return into
