"""Histogram of Oriented Gradients (HOG), vectorized over a batch of images.

The lecture's recipe: divide the image into 8x8-pixel cells and, in each cell, quantize the
edge direction into 9 bins; a 320x240 image gives 40 x 30 cells x 9 bins = 10,800 numbers.
The computation follows ``skimage.feature.hog`` exactly (same numbers to rtol 1e-5, on the
same uint8 or float image), but runs on a whole batch at once in NumPy instead of one image
at a time:

1. gradients by central differences, zero on the image border::

       g_row[r, c] = I[r+1, c] - I[r-1, c]        g_col[r, c] = I[r, c+1] - I[r, c-1]

   for color images per channel, keeping at each pixel the channel with the largest
   magnitude, the first one where channels tie (``color='max'``: scikit-image's rule, its
   argmax over the channels), or on the luminance (``color='gray'``);
2. magnitude ``m = hypot(g_row, g_col)`` and unsigned orientation
   ``theta = degrees(atan2(g_row, g_col)) mod 180``;
3. per cell, each pixel votes its magnitude into the bin of its orientation
   (``[180 k / B, 180 (k+1) / B)``, no interpolation); the cell histogram is the mean vote,
   the sum divided by the cell's pixel count;
4. optionally blocks of ``block_size x block_size`` cells, sliding one cell at a time, each
   normalized (``'L1'``, ``'L1-sqrt'``, ``'L2'``, ``'L2-Hys'``, eps = 1e-5) and laid out as
   ``(block_row, block_col, cell_row, cell_col, orientation)``.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule.errors import ShapeError
from chainrule.features._common import (
    as_image_batch,
    batch_slices,
    default_batch_size,
    to_gray,
)

__all__ = ["BLOCK_NORMS", "hog", "hog_output_shape"]

#: The block normalizations scikit-image offers (``None`` = raw cell histograms).
BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
_EPS = 1e-5


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"hog: {name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_options(orientations: int, block_norm: str | None, color: str) -> None:
    if int(orientations) != orientations or orientations < 1:
        raise ValueError(f"hog: orientations must be a positive int, got {orientations!r}")
    if block_norm is not None and block_norm not in BLOCK_NORMS:
        raise ValueError(
            f"hog: block_norm must be None or one of {BLOCK_NORMS}, got {block_norm!r}")
    if color not in ("max", "gray"):
        raise ValueError(f"hog: color must be 'max' or 'gray', got {color!r}")


def hog_output_shape(
    image_size: tuple[int, int],
    cell_size: int | tuple[int, int] = 8,
    orientations: int = 9,
    block_size: int | tuple[int, int] = 1,
) -> tuple[int, ...]:
    """Shape of one image's HOG before flattening.

    ``(n_blocks_row, n_blocks_col, block_rows, block_cols, orientations)``, with
    ``n_cells = size // cell`` and ``n_blocks = n_cells - block + 1``.

    >>> hog_output_shape((240, 320), cell_size=8)   # the lecture's 40 x 30 x 9
    (30, 40, 1, 1, 9)
    """
    c_row, c_col = _pair(cell_size, "cell_size")
    b_row, b_col = _pair(block_size, "block_size")
    n_cells = (image_size[0] // c_row, image_size[1] // c_col)
    n_blocks = (n_cells[0] - b_row + 1, n_cells[1] - b_col + 1)
    if n_cells[0] < 1 or n_cells[1] < 1 or n_blocks[0] < 1 or n_blocks[1] < 1:
        raise ShapeError(
            f"hog: images of {image_size[0]}x{image_size[1]} pixels are too small for "
            f"{c_row}x{c_col}-pixel cells in blocks of {b_row}x{b_col} cells (need at least "
            f"{b_row * c_row}x{b_col * c_col} pixels)"
        )
    return (n_blocks[0], n_blocks[1], b_row, b_col, int(orientations))


def _central_differences(x: np.ndarray, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """``g_row``, ``g_col`` of channel-first ``(C, N, H, W)`` data, zero on the border."""
    g_row = np.zeros(x.shape, dtype)
    np.subtract(x[:, :, 2:], x[:, :, :-2], out=g_row[:, :, 1:-1], dtype=dtype)
    g_col = np.zeros(x.shape, dtype)
    np.subtract(x[..., 2:], x[..., :-2], out=g_col[..., 1:-1], dtype=dtype)
    return g_row, g_col


def _orientation_edges(orientations: int) -> np.ndarray:
    # scikit-image's kernel keeps the bin edges in single precision: edge_k = float32(180/B) * k.
    step = np.float32(180.0 / orientations)
    return (step * np.arange(orientations + 1, dtype=np.float32)).astype(np.float64)


def _orientation_bins(g_row: np.ndarray, g_col: np.ndarray, orientations: int) -> np.ndarray:
    """Bin index of each gradient: ``edge_k <= theta < edge_{k+1}``, else ``orientations``.

    ``theta = degrees(atan2(g_row, g_col)) mod 180`` as in scikit-image; a theta of exactly
    180.0 (possible after rounding) falls in no bin there, so it gets the spare index.
    """
    theta = np.arctan2(g_row, g_col)
    theta *= 180.0 / np.pi  # np.rad2deg's constant
    theta += 180.0 * (theta < 0) - 180.0 * (theta >= 180.0)  # == np.remainder(theta, 180)
    edges = _orientation_edges(orientations)
    bins = (theta * (1.0 / edges[1])).astype(np.intp)
    np.clip(bins, 0, orientations - 1, out=bins)
    bins -= theta < edges[bins]
    bins += theta >= edges[bins + 1]
    return bins


_PAIRS = 511  # integer central differences of uint8 images lie in [-255, 255]


@functools.lru_cache(maxsize=8)
def _key_table(orientations: int) -> tuple[np.ndarray, int]:
    """Every integer gradient ``(g_row, g_col)`` of uint8 images, as one int32 key.

    Central differences of uint8 images are integers in [-255, 255], so the 511 x 511
    possible gradients are binned once (as scikit-image bins them), and a pixel's key is
    ``keys[g_row * 511 + g_col]`` (laid out so that negative indices wrap, as NumPy's
    do)::

        key = (g_row^2 + g_col^2) << shift  |  orientation bin

    The maximum of a pixel's keys over its channels is then its strongest channel's,
    once the channel's rank sits between the two (``rank << bin_bits``, added per
    channel: the first channel ranks highest, so it wins where channels tie). Returns
    ``(keys, bin_bits)``; ``shift = bin_bits + 2``.
    """
    k = np.arange(-255, 256)
    g_row, g_col = np.meshgrid(k, k, indexing="ij")
    bins = _orientation_bins(g_row.astype(float), g_col.astype(float), orientations)
    bin_bits = int(orientations).bit_length()
    key = ((g_row**2 + g_col**2) << (bin_bits + 2)) | bins
    dtype = np.int32 if int(key.max()) < (1 << 31) else np.int64
    keys = np.empty(key.size, dtype)
    keys[(g_row * _PAIRS + g_col).ravel()] = key.ravel()
    return keys, bin_bits


def _strongest_channel(
    squares: list[np.ndarray], values: list[tuple[np.ndarray, ...]]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per pixel, the channel with the largest squared magnitude (the first one on ties).

    Returns ``(square, picked)``: ``picked[j]`` is ``values[channel][j]`` per pixel.
    """
    square, picked = squares[0], list(values[0])
    for ch in range(1, len(squares)):
        stronger = squares[ch] > square
        square = np.where(stronger, squares[ch], square)
        picked = [np.where(stronger, new, old) for new, old in zip(values[ch], picked)]
    return square, picked


def _oriented_gradients(
    batch: np.ndarray, color: str, transform_sqrt: bool, orientations: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-pixel gradient magnitude and orientation bin, ``(N, H, W)`` each, and the
    scale of the magnitudes (the units scikit-image would compute them in).

    uint8 images take an exact integer path: int16 central differences, the strongest
    channel decided on exact int32 squared magnitudes (the first on ties, as
    scikit-image's argmax decides on the uint8 image, whose gradients are exact too), the
    orientation bin looked up in a table of all integer gradients. Magnitudes are in
    [0, 1] units, ``1/255`` of scikit-image's on the uint8 image.
    """
    if batch.dtype == np.uint8 and not transform_sqrt and color == "max":
        return (*_oriented_gradients_uint8(batch, orientations), 1.0 / 255.0)
    x = batch.astype(np.float64)
    if batch.dtype == np.uint8:
        x /= 255.0
    if transform_sqrt:
        x = np.sqrt(x)
    if color == "gray":
        x = to_gray(x)[..., None]
    rows, cols = _central_differences(np.ascontiguousarray(np.moveaxis(x, -1, 0)), np.float64)
    squares = [r * r + c * c for r, c in zip(rows, cols)]
    square, (g_row, g_col) = _strongest_channel(squares, list(zip(rows, cols)))
    if len(squares) > 1:
        # Near ties: scikit-image's argmax over hypot (not over squares) decides.
        tied = (sum((q >= square * (1 - 1e-12)).astype(np.int8) for q in squares) > 1)
        tied &= square > 0
        if tied.any():
            where = np.nonzero(tied)
            winner = np.stack([np.hypot(r[where], c[where]) for r, c in zip(rows, cols)])
            winner = winner.argmax(axis=0)
            pick = np.arange(winner.size)
            g_row[where] = np.stack([r[where] for r in rows])[winner, pick]
            g_col[where] = np.stack([c[where] for c in cols])[winner, pick]
    return np.hypot(g_col, g_row), _orientation_bins(g_row, g_col, orientations), 1.0


def _oriented_gradients_uint8(
    batch: np.ndarray, orientations: int
) -> tuple[np.ndarray, np.ndarray]:
    keys, bin_bits = _key_table(orientations)
    planes = np.moveaxis(batch, -1, 0).astype(np.int16, order="C")  # one pass
    rows, cols = _central_differences(planes, np.int16)
    channels = len(rows)
    pair = np.empty(rows[0].shape, np.intp)  # buffers reused by every channel
    key = np.empty(rows[0].shape, keys.dtype)
    k = np.empty_like(key) if channels > 1 else key
    for ch in range(channels):
        np.multiply(rows[ch], _PAIRS, out=pair, dtype=np.intp)
        np.add(pair, cols[ch], out=pair)
        keys.take(pair, out=k)
        if channels > 1:  # the first channel ranks highest: it wins a tie
            k += (channels - 1 - ch) << bin_bits
            if ch:
                np.maximum(key, k, out=key)
            else:
                key, k = k, key
    bins = np.bitwise_and(key, (1 << bin_bits) - 1, out=pair)  # intp, in one pass
    key >>= bin_bits + 2
    return np.sqrt(key, dtype=np.float64), bins


@functools.lru_cache(maxsize=16)
def _cell_slots(n: int, n_rows: int, n_cols: int, cell: tuple[int, int], slots: int
                ) -> np.ndarray:
    """Histogram slot of every pixel's bin 0: ``((image * rows + row) * cols + col) * slots``."""
    row = np.arange(n_rows * cell[0]) // cell[0]
    col = np.arange(n_cols * cell[1]) // cell[1]
    cell_index = row[:, None] * n_cols + col[None, :]
    image = np.arange(n)[:, None, None] * (n_rows * n_cols)
    return (image + cell_index) * slots


def _cell_histograms(
    magnitude: np.ndarray, bins: np.ndarray, cell: tuple[int, int], orientations: int
) -> np.ndarray:
    """Mean orientation votes per cell: ``(N, n_cells_row, n_cells_col, orientations)``."""
    n = magnitude.shape[0]
    n_rows, n_cols = magnitude.shape[1] // cell[0], magnitude.shape[2] // cell[1]
    slots = orientations + 1  # the spare slot collects the votes that fall in no bin
    index = bins[:, : n_rows * cell[0], : n_cols * cell[1]]
    index += _cell_slots(n, n_rows, n_cols, cell, slots)  # bins is scratch: add in place
    magnitude = magnitude[:, : n_rows * cell[0], : n_cols * cell[1]]
    hist = np.bincount(index.ravel(), weights=magnitude.ravel(),
                       minlength=n * n_rows * n_cols * slots)
    hist = hist.reshape(n, n_rows, n_cols, slots)[..., :orientations]
    return hist / (cell[0] * cell[1])


def _normalize_blocks(hist: np.ndarray, block: tuple[int, int], block_norm: str) -> np.ndarray:
    """Overlapping blocks of cells, normalized: ``(N, nb_row, nb_col, b_row, b_col, B)``.

    One copy lays the blocks out contiguously; each norm is then a sum over the last
    axis of a ``(..., b_row * b_col * B)`` view, and the division happens in place.
    (The votes are magnitudes, never negative, so ``sum |v|`` is ``sum v``.)
    """
    windows = np.lib.stride_tricks.sliding_window_view(hist, block, axis=(1, 2))
    out = np.moveaxis(windows, 3, -1).copy()  # (N, nbr, nbc, br, bc, B), C-ordered
    flat = out.reshape(*out.shape[:3], -1)
    if block_norm in ("L1", "L1-sqrt"):
        flat /= (np.add.reduce(flat, axis=-1) + _EPS)[..., None]
        return np.sqrt(out, out=out) if block_norm == "L1-sqrt" else out
    flat /= np.sqrt(np.add.reduce(np.square(flat), axis=-1) + _EPS**2)[..., None]
    if block_norm == "L2-Hys":
        np.minimum(flat, 0.2, out=flat)
        flat /= np.sqrt(np.add.reduce(np.square(flat), axis=-1) + _EPS**2)[..., None]
    return out


def hog(
    images: np.ndarray,
    cell_size: int | tuple[int, int] = 8,
    orientations: int = 9,
    block_size: int | tuple[int, int] = 1,
    block_norm: str | None = None,
    color: str = "max",
    transform_sqrt: bool = False,
    batch_size: int | None = None,
    progress: bool | None = False,
    dtype: type = np.float32,
) -> np.ndarray:
    """HOG descriptors of a batch of images, one flattened row per image.

    Args:
        images: ``(N, H, W, C)``, ``C`` in {1, 3}, uint8 or floats in [0, 1]. A uint8
            image is computed as scikit-image computes it (exact integer gradients); raw
            cell histograms are then in [0, 1] units (divided by 255), like a float
            image's. With ``transform_sqrt`` or ``color='gray'`` it is divided by 255
            first.
        cell_size: pixels per cell (int or ``(rows, cols)``); pixels past the last whole
            cell are ignored, as in scikit-image.
        orientations: number of unsigned orientation bins over [0, 180) degrees.
        block_size: cells per block (int or pair); blocks slide one cell at a time.
        block_norm: ``None`` (raw cell histograms; ``block_size`` must be 1), ``'L1'``,
            ``'L1-sqrt'``, ``'L2'`` or ``'L2-Hys'``.
        color: ``'max'`` (per-channel gradients, strongest channel per pixel, like
            scikit-image's ``channel_axis=-1``) or ``'gray'`` (luminance first).
        transform_sqrt: take the square root of the image first (gamma compression).
        batch_size: images per internal batch (default: about 2M pixel values).
        progress: rich progress bar (``None``: only when stderr is a terminal).
        dtype: dtype of the result (computation is in float64).

    Returns:
        ``(N, D)`` array with ``D = prod(hog_output_shape(...))``; row ``i`` equals
        ``skimage.feature.hog(images[i], orientations, (cell, cell), (block, block),
        block_norm, channel_axis=-1)`` when ``block_norm`` is not None (the image as
        given, uint8 or float; ``images[i] / 255`` for a uint8 image with
        ``transform_sqrt`` or ``color='gray'``).

    >>> import numpy as np
    >>> hog(np.zeros((1, 240, 320, 1), np.uint8)).shape   # 40 x 30 cells x 9 bins
    (1, 10800)
    """
    cell = _pair(cell_size, "cell_size")
    block = _pair(block_size, "block_size")
    _check_options(orientations, block_norm, color)
    if block_norm is None and block != (1, 1):
        raise ValueError(f"hog: block_size={block_size!r} needs a block_norm; "
                         "block_norm=None gives the raw cell histograms (block_size=1)")
    x = as_image_batch(images, "hog", min_size=cell, keep_dtype=True)
    n, h, w, c = x.shape
    shape = hog_output_shape((h, w), cell, orientations, block)
    out = np.empty((n, int(np.prod(shape))), dtype=dtype)
    size = batch_size or default_batch_size((h, w, c), budget=1 << 19)
    for part in batch_slices(n, size, progress, "HOG"):
        magnitude, bins, scale = _oriented_gradients(x[part], color, transform_sqrt,
                                                     orientations)
        hist = _cell_histograms(magnitude, bins, cell, orientations)
        if block_norm is not None:  # in scikit-image's units, so its eps means the same
            hist = _normalize_blocks(hist, block, block_norm)
        elif scale != 1.0:
            hist *= scale
        out[part] = hist.reshape(hist.shape[0], -1)
    return out
