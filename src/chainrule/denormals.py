"""Subnormal floats flushed to zero, as ``torch.set_flush_denormal(True)`` does.

A float32 below ``1.2e-38`` in magnitude is *subnormal*: x86 CPUs compute with it through
a slow microcode path, some 20 times slower per element. Training makes them: an L2
penalty shrinks the weights of inputs that are always 0 (the blank border of MNIST's
digits) towards zero, and after a few epochs a tenth of the first layer's weights are
subnormal, so every pass over that weight matrix (the forward product, the update) slows
down. Flushing them to zero (the CPU's FTZ and DAZ modes) changes no result a network
can tell from 0, and restores the speed.

The mode belongs to the calling thread (it lives in the CPU's ``MXCSR`` register, set
through the C library's ``fegetenv``/``fesetenv``); it is offered on x86-64 Linux with
glibc, where chainrule trains by default, and reported unavailable elsewhere.

>>> with flushing_denormals():             # what Trainer.fit does by default
...     pass
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["flush_denormal_enabled", "flushing_denormals", "set_flush_denormal"]

#: The MXCSR bits: flush results to zero (FTZ) and read subnormal inputs as zero (DAZ).
_FTZ_DAZ = (1 << 15) | (1 << 6)
#: glibc's ``fenv_t`` on x86-64: the x87 environment (28 bytes), then ``__mxcsr``.
_FENV_WORDS, _MXCSR_WORD = 8, 7


def _load_libm() -> ctypes.CDLL | None:
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        return None
    if platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else None


_LIBM = _load_libm()


def _environment() -> ctypes.Array:
    env = (ctypes.c_uint32 * _FENV_WORDS)()
    if _LIBM.fegetenv(env) != 0:  # type: ignore[union-attr]
        raise OSError("fegetenv failed")
    return env


def flush_denormal_enabled() -> bool:
    """Whether this thread flushes subnormal floats to zero."""
    if _LIBM is None:
        return False
    return _environment()[_MXCSR_WORD] & _FTZ_DAZ == _FTZ_DAZ


def set_flush_denormal(mode: bool) -> bool:
    """Flush subnormal floats to zero in this thread (``mode=True``) or compute with them
    (``False``, the CPU's default); returns whether the mode is supported here, like
    ``torch.set_flush_denormal``.

    >>> set_flush_denormal(False)           # the default again (True where supported)
    True
    """
    if _LIBM is None:
        return False
    env = _environment()
    if mode:
        env[_MXCSR_WORD] |= _FTZ_DAZ
    else:
        env[_MXCSR_WORD] &= ~_FTZ_DAZ & 0xFFFFFFFF
    if _LIBM.fesetenv(env) != 0:
        raise OSError("fesetenv failed")
    return True


@contextmanager
def flushing_denormals(mode: bool = True) -> Iterator[bool]:
    """Within the block, flush subnormals (``mode``) in this thread; the thread's
    previous mode comes back afterwards. Yields whether the mode is supported."""
    before = flush_denormal_enabled()
    supported = set_flush_denormal(mode)
    try:
        yield supported
    finally:
        if supported:
            set_flush_denormal(before)
