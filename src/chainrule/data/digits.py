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

import importlib.util
from pathlib import Path

import numpy as np

from chainrule.data.datasets import DEFAULT_TEST_FRACTION, ImageDataset
from chainrule.data.split import stratified_split_indices
from chainrule.errors import DataError

__all__ = ["load_digits"]

_MISSING = "the digits data set comes with scikit-learn: pip install 'chainrule[data]'"


def _digits_table() -> np.ndarray:
    """scikit-learn's digits table ``(1797, 65)``: 64 pixels in 0..16, then the label.

    Read from the file scikit-learn ships, as its ``load_digits`` reads it, without
    importing scikit-learn (its imports take longer than training on the digits); through
    ``sklearn.datasets.load_digits`` where that file is not where it used to be.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise DataError(_MISSING)
    for folder in spec.submodule_search_locations or ():
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return np.loadtxt(path, delimiter=",")
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    return np.column_stack([bunch.data, bunch.target]).astype(np.float64)


def load_digits(test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> ImageDataset:
    """scikit-learn's 8x8 digits as an :class:`ImageDataset` with a stratified test split.

    ``test_fraction`` of each class (0.2 by default) goes to the test split, drawn with
    ``seed``; the same arguments always give the same split.
    """
    table = _digits_table()
    values = table[:, :-1].reshape(-1, 8, 8)  # (1797, 8, 8) in 0..16
    images = np.rint(values * 255.0 / 16.0).astype(np.uint8)[..., None]
    labels = table[:, -1].astype(np.int64)
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
