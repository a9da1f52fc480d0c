"""The embedded 8x8 handwritten digits of scikit-learn: the default data, no download.

1,797 images (the UCI "optdigits" test set), 10 classes. The pixel values 0..16 become
uint8 ``round(v * 255 / 16)`` (0 -> 0, 8 -> 128, 16 -> 255), so these images are handled
like every other :class:`ImageDataset`. The split is a seeded stratified one (20 % test,
seed 0 by default: 1,438 train and 359 test images).

>>> ds = load_digits()
>>> ds.train_images.shape, ds.train_images.max(), len(ds.test_labels)
((1438, 8, 8, 1), np.uint8(255), 359)
"""

from __future__ import annotations

import numpy as np

from chainrule.data.datasets import DEFAULT_TEST_FRACTION, ImageDataset
from chainrule.data.split import stratified_split_indices
from chainrule.errors import DataError

__all__ = ["load_digits"]


def load_digits(test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> ImageDataset:
    """scikit-learn's 8x8 digits as an :class:`ImageDataset` with a stratified test split.

    ``test_fraction`` of each class (0.2 by default) goes to the test split, drawn with
    ``seed``; the same arguments always give the same split.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise DataError(
            "the digits data set comes with scikit-learn: pip install 'chainrule[data]'"
        ) from None
    bunch = sklearn_load_digits()
    values = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8) in 0..16
    images = np.rint(values * 255.0 / 16.0).astype(np.uint8)[..., None]
    labels = np.asarray(bunch.target, dtype=np.int64)
    train, test = stratified_split_indices(labels, test_fraction, seed=seed)
    return ImageDataset(
        name="digits",
        train_images=images[train],
        train_labels=labels[train],
        test_images=images[test],
        test_labels=labels[test],
        classes=[str(d) for d in range(10)],
        source="scikit-learn (sklearn.datasets.load_digits)",
    )
