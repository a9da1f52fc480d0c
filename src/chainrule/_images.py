"""Image windows for the convolution, pooling and batch-norm ops: what the standard lacks.

Sliding windows over images (im2col) and their sum back (col2im), products with the
unfolded windows made in cache-sized blocks, and per-channel reductions. Each helper has
a NumPy path (NumPy arrays: strided views, ``out=``, ``einsum``) and a path
through the array API standard for every other library (CuPy, ``array_api_strict``).
Array-API code (the ops) imports them from here; NumPy stays out of the ops.

>>> import numpy as np
>>> channels_last(np.zeros((2, 3, 4, 5)), ((1, 1), (0, 0))).shape
(2, 6, 5, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BLOCK_BYTES", "average_divisors", "bin_matrix", "channel_dots", "channel_sums",
           "channels_last", "fold_windows", "masked", "matmul_fold", "unfold_matmul",
           "unfold_t_matmul", "window_view"]

Pair = tuple[int, int]


def namespace(x: Any) -> Any:
    """The array namespace of ``x``: :func:`chainrule.backend.namespace` (imported late,
    as the backend imports this module)."""
    from chainrule import backend

    return backend.namespace(x)


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
    on_numpy = isinstance(x, np.ndarray)
    (top, bottom), (left, right) = padding
    moved = xp.permute_dims(x, (0, 2, 3, 1))
    if not (top or bottom or left or right):
        if on_numpy:
            return np.ascontiguousarray(moved)
        return xp.asarray(moved, copy=True)
    n, h, w, c = moved.shape
    shape = (n, h + top + bottom, w + left + right, c)
    if on_numpy:
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
    out = xp.full(shape, value, dtype=x.dtype, device=x.device)
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
        out = xp.zeros(shape, dtype=windows.dtype, device=windows.device)
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
    return xp.where(mask, values, xp.zeros((), dtype=values.dtype, device=values.device))


# --------------------------------------------------------------------------------------
# The constants of average pooling, made in host memory (the op moves them to the device).


def average_divisors(shape: tuple, kernel: Pair, stride: Pair, padding: Pair, out: Pair,
                     count_include_pad: bool, dtype: Any) -> np.ndarray:
    """How many inputs each average divides by, ``(Ho, Wo, 1)`` (PyTorch's rule).

    A window counts the padding it covers when ``count_include_pad``, but never the part
    of a ceil-mode window beyond the padding.
    """
    counts = []
    for axis in (0, 1):
        n, k, s, p = shape[2 + axis], kernel[axis], stride[axis], padding[axis]
        start = np.arange(out[axis]) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :])[:, :, None].astype(dtype)


def bin_matrix(n: int, out: int, dtype: Any) -> np.ndarray:
    """``A`` (out, n): row ``i`` averages inputs ``floor(i n / out) .. ceil((i + 1) n / out)``."""
    a = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        lo, hi = (i * n) // out, -((-(i + 1) * n) // out)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


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
