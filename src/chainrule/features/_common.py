"""Shared input checks and batching for the feature extractors.

Every extractor takes a batch of images shaped ``(N, H, W, C)`` with ``C`` 1 (gray) or 3
(RGB), either ``uint8`` in ``[0, 255]`` or floating point in ``[0, 1]``. ``uint8`` images are
scaled to ``[0, 1]`` first, so the same picture gives the same features in either form.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

from chainrule.errors import DataError, ShapeError

__all__ = ["as_image_batch", "batch_slices", "default_batch_size", "to_gray"]

#: Luminance weights of ITU-R BT.709, the ones ``skimage.color.rgb2gray`` uses.
GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])


def as_image_batch(
    images: object,
    op: str,
    dtype: type = np.float64,
    min_size: tuple[int, int] = (1, 1),
    keep_dtype: bool = False,
) -> np.ndarray:
    """Check a batch of images and return it as floats in ``[0, 1]``, shaped ``(N, H, W, C)``.

    Raises :class:`ShapeError` for a wrong rank, channel count or images smaller than
    ``min_size`` (rows, cols), and :class:`DataError` for a dtype that is not an image dtype
    (bool, integers other than uint8, complex, object) or float values outside ``[0, 1]``.
    ``keep_dtype=True`` checks but returns the array unchanged (uint8 or float): extractors
    that convert batch by batch avoid a float copy of a whole data set.
    """
    data = getattr(images, "data", images) if not isinstance(images, np.ndarray) else images
    array = np.asarray(data)
    if array.ndim != 4:
        hint = ""
        if array.ndim == 3:
            hint = (" (for one H x W x C image use images[None]; for a batch of gray images "
                    "N x H x W use images[..., None])")
        raise ShapeError(
            f"{op}: expected a batch of images shaped (N, H, W, C), got an array of rank "
            f"{array.ndim} with shape {array.shape}{hint}"
        )
    n, h, w, c = array.shape
    if c not in (1, 3):
        raise ShapeError(
            f"{op}: expected 1 (gray) or 3 (RGB) channels in the last axis, got shape {array.shape}"
        )
    if h < min_size[0] or w < min_size[1]:
        raise ShapeError(
            f"{op}: images of {h}x{w} pixels are smaller than the {min_size[0]}x{min_size[1]} "
            f"pixels one cell/patch needs (shape {array.shape})"
        )
    if array.dtype == np.uint8:
        if keep_dtype:
            return array
        return array.astype(dtype) / dtype(255.0)
    if array.dtype.kind != "f":
        raise DataError(
            f"{op}: images must be uint8 in [0, 255] or floats in [0, 1], got dtype {array.dtype}"
        )
    out = array if keep_dtype else array.astype(dtype, copy=False)
    if out.size and n:
        lo, hi = float(out.min()), float(out.max())
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1e-6 or hi > 1.0 + 1e-6:
            raise DataError(
                f"{op}: float images must lie in [0, 1], got values in [{lo:g}, {hi:g}] "
                "(divide uint8-range floats by 255)"
            )
    return out


def to_gray(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, C)`` floats -> ``(N, H, W)`` luminance (``skimage.color.rgb2gray``'s weights)."""
    if images.shape[-1] == 1:
        return images[..., 0]
    return images @ GRAY_WEIGHTS.astype(images.dtype)


def default_batch_size(image_shape: tuple[int, ...], budget: int = 1 << 21) -> int:
    """Images per batch so that one batch holds about ``budget`` pixel values (cache friendly)."""
    per_image = int(np.prod(image_shape)) or 1
    return max(1, budget // per_image)


def _want_progress(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def batch_slices(
    n: int, batch_size: int, progress: bool | None = False, description: str = "features"
) -> Iterator[slice]:
    """Yield ``slice`` objects covering ``range(n)`` in batches, with a rich progress bar.

    ``progress=None`` shows the bar only when stderr is a terminal; ``True`` always (needs
    ``rich``); ``False`` never.
    """
    starts = range(0, n, max(1, batch_size))
    if not _want_progress(progress) or n == 0:
        for start in starts:
            yield slice(start, min(n, start + batch_size))
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=n)
        for start in starts:
            stop = min(n, start + batch_size)
            yield slice(start, stop)
            bar.update(task, advance=stop - start)
