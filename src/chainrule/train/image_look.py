"""How an image looks next to a run's training images: its background, and how much of it
the drawing fills.

A network on pixels has only ever seen images like its training images. The digit sets
are light ink on a dark background, and their digits fill most of the frame (MNIST: the
middle 20 of 28 pixels); a photo of a digit drawn dark on white paper, small in a big
frame, is a different input altogether, and the net answers with confidence all the same.
:func:`look_warnings` says so, naming the option that fixes it (``--invert``, ``--fit``),
and :func:`fit_to_drawing` does what ``--fit`` asks: it crops the image to the drawing,
with the training images' margin around it.

A run's look comes from the mean of its training images (the standardization's mean of a
run on pixels); a run on image features keeps no such picture, and is not checked.

>>> look = ImageLook.of(np.pad(np.ones((4, 4)), 2))     # a light square on black
>>> round(look.background, 2), round(look.extent, 2)
(0.0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["INK_THRESHOLD", "ImageLook", "fit_to_drawing", "look_warnings", "training_look"]

#: A pixel belongs to the drawing when it differs from the background by this much (0..1).
INK_THRESHOLD = 0.3
#: The drawing's size may differ from the training images' by this factor before a warning.
SIZE_TOLERANCE = 1.6


@dataclass(frozen=True)
class ImageLook:
    """An image's background level (0 black .. 1 white) and its drawing's extent.

    ``extent`` is the side of the drawing's bounding box as a fraction of the image's
    (the larger of the height and width fractions); 0 when there is no drawing.
    """

    background: float
    extent: float

    @property
    def dark_background(self) -> bool:
        return self.background < 0.5

    @classmethod
    def of(cls, gray: np.ndarray, threshold: float = INK_THRESHOLD) -> ImageLook:
        """The look of a gray image with values in ``[0, 1]``."""
        gray = np.asarray(gray, dtype=np.float64)
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        background = float(np.median(border))
        box = _ink_box(gray, background, threshold)
        if box is None:
            return cls(background, 0.0)
        top, bottom, left, right = box
        extent = max((bottom - top) / gray.shape[0], (right - left) / gray.shape[1])
        return cls(background, float(extent))


def _ink_box(gray: np.ndarray, background: float, threshold: float
             ) -> tuple[int, int, int, int] | None:
    """Rows ``top:bottom`` and columns ``left:right`` around the drawing, or None."""
    ink = np.abs(gray - background) > threshold
    if not ink.any():
        return None
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def training_look(pre: Any) -> ImageLook | None:
    """The look of a run's training images, from their mean (runs on pixels standardized
    per pixel only: a ConvNet's per-channel statistics hold no mean image)."""
    if not getattr(pre, "on_pixels", False) or pre.image_shape is None \
            or getattr(pre, "standardizer", None) is None:
        return None
    mean = np.asarray(pre.standardizer.state_dict()["mean"], dtype=np.float64)
    if mean.size != int(np.prod(pre.image_shape)):
        return None
    image = mean.reshape(pre.image_shape).mean(axis=-1)
    contrast = float(np.abs(image - np.median(image)).max())
    # The mean of many drawings is a blur: its ink is what stands out of its own range.
    return ImageLook.of(image, threshold=max(0.25 * contrast, 1e-6))


def look_warnings(name: str, look: ImageLook, train: ImageLook, inverted: bool = False,
                  fitted: bool = False) -> list[str]:
    """Why ``name`` may not be an image the run can read, each naming the option that helps."""
    out = []
    if look.dark_background != train.dark_background:
        theirs = "dark" if train.dark_background else "light"
        mine = "dark" if look.dark_background else "light"
        fix = ("drop --invert" if inverted else "add --invert")
        out.append(f"{name}: {mine} background (level {look.background:.2f}), but the training "
                   f"images have a {theirs} one ({train.background:.2f}): the prediction is "
                   f"unreliable; {fix}")
    if look.extent == 0:
        out.append(f"{name}: no drawing found (the image is one flat colour)")
    elif not fitted and train.extent > 0 and not (
            1 / SIZE_TOLERANCE <= look.extent / train.extent <= SIZE_TOLERANCE):
        out.append(f"{name}: the drawing fills {look.extent:.0%} of the image, the training "
                   f"images' {train.extent:.0%}: the prediction is unreliable; add --fit to "
                   "crop the image to the drawing")
    return out


def fit_to_drawing(gray: np.ndarray, image: np.ndarray, train: ImageLook) -> np.ndarray:
    """``image`` (H, W, C) cropped to a square around its drawing that the drawing fills as
    much as the training images' drawings fill theirs (padded with the background).

    ``gray`` is the image in gray, ``[0, 1]``, where the drawing is looked for.
    """
    look = ImageLook.of(gray)
    box = _ink_box(np.asarray(gray, dtype=np.float64), look.background, INK_THRESHOLD)
    if box is None:
        return image
    top, bottom, left, right = box
    side = max(bottom - top, right - left) / max(train.extent, 0.05)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    half = int(np.ceil(side / 2))
    y0, x0 = round(cy) - half, round(cx) - half
    fill = np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]), axis=0)
    out = np.empty((2 * half, 2 * half, image.shape[2]), dtype=image.dtype)
    out[...] = fill.astype(image.dtype)
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + 2 * half, image.shape[0]), min(x0 + 2 * half, image.shape[1])
    out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out
