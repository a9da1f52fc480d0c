"""The C allocator's handling of freed memory: a training step allocates the same large
arrays again and again.
"""

from __future__ import annotations

__all__ = ["reuse_freed_memory"]


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters (glibc's malloc.h)
_memory_reused = False


def reuse_freed_memory() -> bool:
    """Ask the C allocator to keep freed memory for the next allocation (glibc only).

    By default glibc hands every large block (an activation, an unfolded convolution
    input) back to the operating system when it is freed and maps fresh pages for the
    next one; touching those pages again costs more than the arithmetic on them (a fresh
    16 MB array: ~9x the time of reusing one). Training allocates the same sizes every
    step, so keeping the memory (``M_MMAP_MAX = 0``, no trimming) is much faster; the
    process's footprint then stays at its peak. Process-wide, called once by the
    :class:`~chainrule.train.Trainer`; returns whether the allocator accepted it.
    """
    global _memory_reused
    if _memory_reused:
        return True
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return False
    _memory_reused = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                    2**31 - 1))
    return _memory_reused
