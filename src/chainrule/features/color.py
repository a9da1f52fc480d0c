"""Color histograms: the lecture's simplest image feature.

Each pixel votes +1 into the bin of its hue (or saturation, value, or a joint HSV bin); the
histogram is divided by the pixel count, so it sums to 1 and does not depend on image size.
The RGB -> HSV conversion is scikit-image's ``skimage.color.rgb2hsv`` (hue in [0, 1), red = 0).
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.features._common import as_image_batch, batch_slices, default_batch_size

__all__ = ["CHANNELS", "color_histogram", "color_histogram_dim"]

#: What ``color_histogram`` can count: one HSV channel, or all three jointly.
CHANNELS = ("hue", "saturation", "value", "joint")


def color_histogram_dim(bins: int = 10, channel: str = "hue") -> int:
    """Length of one image's histogram: ``bins``, or ``bins ** 3`` for ``'joint'``."""
    return bins**3 if channel == "joint" else bins


def _bin_index(values: np.ndarray, bins: int) -> np.ndarray:
    # Values lie in [0, 1]; 1.0 (pure saturation/value) belongs to the last bin.
    return np.minimum((values * bins).astype(np.intp), bins - 1)


def color_histogram(
    images: np.ndarray,
    bins: int = 10,
    channel: str = "hue",
    batch_size: int | None = None,
    progress: bool | None = False,
) -> np.ndarray:
    """Normalized HSV histograms of a batch of images, ``(N, bins)`` float32 rows summing to 1.

    Bin ``k`` of ``bins`` counts the pixels whose channel value ``v`` in [0, 1] has
    ``floor(v * bins) == k`` (``v == 1`` goes to the last bin)::

        h_k = #{pixels with bin k} / (H * W)

    ``channel='joint'`` counts ``(hue, saturation, value)`` triples in ``bins ** 3`` bins
    (index ``(h * bins + s) * bins + v``). Hue needs RGB; ``'value'`` also works on gray
    images (value = the gray level).

    >>> import numpy as np
    >>> red = np.zeros((1, 4, 4, 3), np.uint8); red[..., 0] = 255
    >>> color_histogram(red, bins=10)[0]      # hue 0 -> first bin
    array([1., 0., 0., 0., 0., 0., 0., 0., 0., 0.], dtype=float32)
    """
    if int(bins) != bins or bins < 1:
        raise ValueError(f"color_histogram: bins must be a positive int, got {bins!r}")
    if channel not in CHANNELS:
        raise ValueError(f"color_histogram: channel must be one of {CHANNELS}, got {channel!r}")
    x = as_image_batch(images, "color_histogram", np.float32, keep_dtype=True)
    n, h, w, c = x.shape
    if c != 3 and channel != "value":
        raise ShapeError(
            f"color_histogram: channel={channel!r} needs RGB images (C=3), got shape {x.shape}; "
            "use channel='value' for gray images"
        )
    from skimage.color import rgb2hsv

    dim = color_histogram_dim(bins, channel)
    out = np.empty((n, dim), np.float32)
    size = batch_size or default_batch_size((h, w, c))
    for part in batch_slices(n, size, progress, "color histogram"):
        batch = x[part]
        batch = batch.astype(np.float32) / np.float32(255) if batch.dtype == np.uint8 else batch
        if c == 1:
            index = _bin_index(batch[..., 0], bins)
        else:
            hsv = rgb2hsv(batch.reshape(-1, 3)).reshape(batch.shape)  # flat: faster
            if channel == "joint":
                hue, sat, val = (_bin_index(hsv[..., k], bins) for k in range(3))
                index = (hue * bins + sat) * bins + val
            else:
                index = _bin_index(hsv[..., CHANNELS.index(channel)], bins)
        m = index.shape[0]
        index = index.reshape(m, -1) + (np.arange(m) * dim)[:, None]
        counts = np.bincount(index.ravel(), minlength=m * dim).reshape(m, dim)
        out[part] = counts / np.float32(h * w)
    return out
