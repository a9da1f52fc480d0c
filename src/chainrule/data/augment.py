"""Data augmentation for image batches: random crops with padding and horizontal flips.

The standard augmentation for CIFAR-10 ConvNets: pad each image by ``padding`` pixels
(zeros), cut a random ``H x W`` window out of it (a random shift of up to ``padding``
pixels each way) and mirror it left to right with probability 1/2. A cat moved a few
pixels, or seen in a mirror, is still a cat, so the network learns that these changes
do not matter. Applied to each minibatch as it is drawn, the data set itself is never
copied, and every epoch sees new variants.

>>> rng = np.random.default_rng(0)
>>> batch = np.zeros((8, 32, 32, 3), np.uint8)
>>> random_crop_flip(batch, rng, padding=4).shape
(8, 32, 32, 3)
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DataError

__all__ = ["AUGMENTATIONS", "random_crop_flip"]

#: The per-batch augmentations by name (``crop``: random shifts; ``crop-flip``: and mirror
#: images); ``none`` leaves batches as they are.
AUGMENTATIONS = ("none", "crop", "crop-flip")


def random_crop_flip(images: np.ndarray, rng: np.random.Generator, padding: int = 4,
                     flip: bool = True) -> np.ndarray:
    """Random crops of the zero-padded ``(B, H, W, C)`` images, each mirrored with
    probability 1/2 when ``flip``: one gather for the whole batch.

    Image ``b`` becomes ``padded[b, dy:dy + H, dx:dx + W]`` (read right to left when
    flipped) with ``dy, dx`` uniform in ``0 .. 2 * padding``.
    """
    if images.ndim != 4:
        raise DataError(f"random_crop_flip: expected a batch of images (B, H, W, C), got "
                        f"shape {images.shape}")
    if padding < 0:
        raise ValueError(f"random_crop_flip: padding must be >= 0, got {padding}")
    b, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    dy = rng.integers(0, 2 * padding + 1, size=b)
    dx = rng.integers(0, 2 * padding + 1, size=b)
    rows = dy[:, None] + np.arange(h)
    cols = dx[:, None] + np.arange(w)
    if flip:
        mirrored = rng.random(b) < 0.5
        cols[mirrored] = cols[mirrored, ::-1]
    return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]
