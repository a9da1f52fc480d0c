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

__all__ = ["BLOCK_BYTES", "channel_dots", "channel_sums", "channels_last", "fold_windows",
           "masked", "matmul_fold", "namespace", "reuse_freed_memory", "unfold_matmul",
           "unfold_t_matmul", "window_view"]

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


# --------------------------------------------------------------------------------------
# What the standard lacks: sliding windows over images, and their sum back (col2im).
#
# Images are (N, C, H, W) arrays (PyTorch's NCHW) whose *memory* may be channels-last
# (N, H, W, C): the image ops keep their outputs so (a transposed view, like PyTorch's
# ``channels_last``), so conv -> batch norm -> ReLU -> pool -> conv needs no layout copy
# and every window of an image is a block of rows of a matrix with C columns.


def channels_last(x: Any, padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
                  value: float = 0.0) -> Any:
    """The (N, C, H, W) array ``x`` as a C-ordered (N, H', W', C) array, padded by ``value``.

    ``padding`` is ``((top, bottom), (left, right))``. A view when ``x`` already has that
    memory and needs no padding, else one copy.

    >>> channels_last(np.zeros((2, 3, 4, 5)), ((1, 1), (0, 0))).shape
    (2, 6, 5, 3)
    """
    xp = namespace(x)
    (top, bottom), (left, right) = padding
    moved = xp.permute_dims(x, (0, 2, 3, 1))
    if not (top or bottom or left or right):
        if xp is np and moved.flags.c_contiguous:
            return moved
        return xp.asarray(moved, copy=True) if xp is not np else np.ascontiguousarray(moved)
    n, h, w, c = moved.shape
    shape = (n, h + top + bottom, w + left + right, c)
    if xp is np:
        out = np.empty(shape, dtype=x.dtype)
        if top:
            out[:, :top] = value
        if bottom:
            out[:, shape[1] - bottom:] = value
        if left:
            out[:, top:top + h, :left] = value
        if right:
            out[:, top:top + h, shape[2] - right:] = value
        out[:, top:top + h, left:left + w] = moved
        return out
    out = xp.full(shape, value, dtype=x.dtype)
    out[:, top:top + h, left:left + w, :] = moved
    return out


def window_view(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int]) -> Any:
    """Every window of a channels-last image batch: ``(N, Ho, Wo, kh, kw, C)``.

    ``out[n, i, j, a, b] = x[n, i*sh + a*dh, j*sw + b*dw]``. A strided view of ``x`` on
    NumPy (no copy); other namespaces stack the ``kh*kw`` shifted slices.
    """
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho = (h - dh * (kh - 1) - 1) // sh + 1
    wo = (w - dw * (kw - 1) - 1) // sw + 1
    if isinstance(x, np.ndarray):
        s = x.strides
        return np.lib.stride_tricks.as_strided(
            x, (n, ho, wo, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]),
            writeable=False)
    xp = namespace(x)
    taps = [x[:, a * dh:a * dh + sh * (ho - 1) + 1:sh, b * dw:b * dw + sw * (wo - 1) + 1:sw, :]
            for a in range(kh) for b in range(kw)]
    return xp.reshape(xp.stack(taps, axis=3), (n, ho, wo, kh, kw, c))


def fold_windows(windows: Any, shape: tuple[int, int, int, int], stride: tuple[int, int],
                 dilation: tuple[int, int], out: Any = None) -> Any:
    """The adjoint of :func:`window_view` (col2im): each window's values added back at
    the positions they came from, into zeros of the channels-last ``shape`` (or added
    into ``out``).

    A loop over the ``kh*kw`` kernel taps, each one strided accumulation over all the
    windows at once (never a loop over positions).
    """
    xp = namespace(windows)
    _, ho, wo, kh, kw, _ = windows.shape
    (sh, sw), (dh, dw) = stride, dilation
    if out is None:
        out = xp.zeros(shape, dtype=windows.dtype)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (ho - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (wo - 1) + 1, sw)
            out[:, rows, cols, :] += windows[:, :, :, a, b, :]
    return out


# --------------------------------------------------------------------------------------
# Products with the unfolded windows (im2col), in blocks that stay in the CPU's cache.
#
# The unfolded matrix of a convolution has kh*kw times as many numbers as its input.
# Written out whole it goes to main memory and is read back by the matrix product; made
# and used a block of rows at a time (about :data:`BLOCK_BYTES`), it stays in the cache,
# which halves the time of a 3x3 convolution on the CPU, and the whole matrix is never
# held. Other namespaces compute the same products in one piece.

#: Bytes of unfolded rows made at a time: about the size of a core's L2 cache.
BLOCK_BYTES = 1 << 20


def _row_blocks(n: int, ho: int, row_bytes: int) -> list[tuple[slice, slice]]:
    """``(images, output rows)`` slices covering ``n`` images of ``ho`` output rows, each
    about :data:`BLOCK_BYTES` of unfolded rows (``row_bytes`` per output row): several
    whole images, or the rows of one image."""
    rows = max(1, BLOCK_BYTES // max(row_bytes, 1))
    if rows >= ho:
        per = rows // ho
        return [(slice(i, min(i + per, n)), slice(0, ho)) for i in range(0, n, per)]
    return [(slice(i, i + 1), slice(r, min(r + rows, ho))) for i in range(n)
            for r in range(0, ho, rows)]


def unfold_matmul(padded: Any, kernel: tuple[int, int], stride: tuple[int, int],
                  dilation: tuple[int, int], matrix: Any, out: Any) -> Any:
    """``out = unfold(padded) @ matrix``: each window of the channels-last ``padded``
    batch, flattened to ``kh*kw*C`` numbers, times ``matrix`` (``kh*kw*C, M``), written to
    ``out`` (``N, Ho, Wo, M``). The forward of a convolution."""
    windows = window_view(padded, kernel, stride, dilation)
    n, ho, wo, kh, kw, c = windows.shape
    depth = kh * kw * c
    if not isinstance(padded, np.ndarray):
        xp = namespace(padded)
        out[...] = xp.reshape(xp.reshape(windows, (n * ho * wo, depth)) @ matrix, out.shape)
        return out
    block = None
    for images, rows in _row_blocks(n, ho, wo * depth * padded.itemsize):
        part = windows[images, rows]
        count = part.shape[0] * part.shape[1] * wo
        if block is None:
            block = np.empty(count * depth, dtype=padded.dtype)
        unfolded = block[:count * depth].reshape(part.shape)
        np.copyto(unfolded, part)
        np.matmul(unfolded.reshape(count, depth), matrix,
                  out=out[images, rows].reshape(count, -1))
    return out


def unfold_t_matmul(padded: Any, kernel: tuple[int, int], stride: tuple[int, int],
                    dilation: tuple[int, int], rows: Any) -> Any:
    """``unfold(padded)^T @ rows``: ``(kh*kw*C, M)`` from the windows and ``rows``
    (``N, Ho, Wo, M``), summed block by block. The filters' gradient of a convolution."""
    windows = window_view(padded, kernel, stride, dilation)
    n, ho, wo, kh, kw, c = windows.shape
    depth = kh * kw * c
    m = rows.shape[-1]
    if not isinstance(padded, np.ndarray):
        xp = namespace(padded)
        flat = xp.reshape(windows, (n * ho * wo, depth))
        return xp.permute_dims(flat, (1, 0)) @ xp.reshape(rows, (n * ho * wo, m))
    total = np.zeros((depth, m), dtype=np.result_type(padded, rows))
    block = part_sum = None
    for images, sel in _row_blocks(n, ho, wo * depth * padded.itemsize):
        part = windows[images, sel]
        count = part.shape[0] * part.shape[1] * wo
        if block is None:
            block = np.empty(count * depth, dtype=padded.dtype)
            part_sum = np.empty_like(total)
        unfolded = block[:count * depth].reshape(part.shape)
        np.copyto(unfolded, part)
        np.matmul(unfolded.reshape(count, depth).T, rows[images, sel].reshape(count, m),
                  out=part_sum)
        total += part_sum
    return total


def matmul_fold(rows: Any, matrix: Any, shape: tuple[int, int, int, int],
                kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int]) -> Any:
    """``fold(rows @ matrix)``: the windows' values ``rows`` (``N, Ho, Wo, M``) times
    ``matrix`` (``M, kh*kw*C``), added back where each window came from, into zeros of
    the channels-last ``shape`` (col2im). The input's gradient of a strided convolution."""
    n, ho, wo, m = rows.shape
    kh, kw = kernel
    c = shape[-1]
    if not isinstance(rows, np.ndarray):
        xp = namespace(rows)
        windows = xp.reshape(xp.reshape(rows, (n * ho * wo, m)) @ matrix,
                             (n, ho, wo, kh, kw, c))
        return fold_windows(windows, shape, stride, dilation)
    out = np.zeros(shape, dtype=np.result_type(rows, matrix))
    (sh, _), (dh, _) = stride, dilation
    for images, sel in _row_blocks(n, ho, wo * kh * kw * c * rows.itemsize):
        part = rows[images, sel]
        windows = (part.reshape(-1, m) @ matrix).reshape(*part.shape[:3], kh, kw, c)
        top = sel.start * sh
        span = (part.shape[1] - 1) * sh + dh * (kh - 1) + 1
        dest = out[images, top:top + span]
        fold_windows(windows, dest.shape, stride, dilation, out=dest)
    return out


def masked(mask: Any, values: Any) -> Any:
    """``values`` where ``mask`` holds, 0 elsewhere (broadcast): ``where(mask, values, 0)``.

    NumPy multiplies by the mask instead: the same numbers for finite values, in a third
    of ``np.where``'s time.
    """
    if isinstance(values, np.ndarray):
        return np.multiply(mask, values)
    xp = namespace(values)
    return xp.where(mask, values, xp.zeros((), dtype=values.dtype))


# --------------------------------------------------------------------------------------
# Per-channel reductions of (N, C, H, W) arrays (batch norm): one pass, any memory layout.


def channel_sums(x: Any) -> Any:
    """``x.sum(axis=(0, 2, 3))``: one sum per channel of an (N, C, H, W) array."""
    if isinstance(x, np.ndarray):
        return np.einsum("nchw->c", x)
    return namespace(x).sum(x, axis=(0, 2, 3))


def channel_dots(a: Any, b: Any) -> Any:
    """``(a * b).sum(axis=(0, 2, 3))`` without the product array: one dot per channel."""
    if isinstance(a, np.ndarray):
        return np.einsum("nchw,nchw->c", a, b)
    return namespace(a).sum(a * b, axis=(0, 2, 3))


# --------------------------------------------------------------------------------------
# Memory: a training step allocates the same large arrays again and again.

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
