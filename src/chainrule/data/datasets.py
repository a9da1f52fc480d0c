"""Datasets: the types every loader returns and the registry of the names :func:`load` knows.

The lecture's data-driven approach needs labelled images split into a training set and a
held-out test set. :class:`ImageDataset` holds exactly that (images ``(N, H, W, C)`` uint8,
labels int64, class names); :class:`TabularDataset` is its sibling for a table of features.
:data:`DATASETS` describes each data set that can be loaded (and downloaded) by name.

This module imports no loader: the loaders (``cifar``, ``idx``, ``imagefolder``,
``digits``, ``tabular``) import it, and :mod:`chainrule.data.dispatch` imports them.

>>> import chainrule as cr
>>> ds = cr.data.load("digits")
>>> ds.train_images.shape, ds.test_images.shape, ds.num_classes
((1438, 8, 8, 1), (359, 8, 8, 1), 10)
>>> DATASETS["mnist"].title
'MNIST'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from chainrule.errors import DataError

__all__ = [
    "DATASETS",
    "DEFAULT_TEST_FRACTION",
    "Dataset",
    "DatasetInfo",
    "ImageDataset",
    "TabularDataset",
]

#: Test fraction of the seeded stratified split made when a data set has no test split.
DEFAULT_TEST_FRACTION = 0.2


def _check_labels(owner: str, split: str, n: int, labels: np.ndarray, num_classes: int) -> None:
    if labels.shape != (n,):
        raise DataError(f"{owner}: {split} has {n:,} samples but labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(
            f"{owner}: {split} labels must lie in 0..{num_classes - 1} "
            f"({num_classes} classes), found {int(labels.min())}..{int(labels.max())}"
        )


@dataclass
class ImageDataset:
    """Labelled images with a training and a test split.

    ``train_images`` / ``test_images``: ``(N, H, W, C)`` uint8 (``C`` is 1 for gray, 3 for
    RGB); ``train_labels`` / ``test_labels``: ``(N,)`` int64 indices into ``classes``.
    ``source`` says where the data came from (a folder, a file, ``scikit-learn``).

    >>> ds = ImageDataset("tiny", np.zeros((4, 2, 2, 1), np.uint8), np.array([0, 1, 0, 1]),
    ...                   np.zeros((2, 2, 2, 1), np.uint8), np.array([0, 1]), ["a", "b"])
    >>> ds.image_shape, ds.num_classes
    ((2, 2, 1), 2)
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]
    source: str = field(default="")

    def __post_init__(self) -> None:
        self.train_labels = np.asarray(self.train_labels, dtype=np.int64)
        self.test_labels = np.asarray(self.test_labels, dtype=np.int64)
        self.classes = [str(c) for c in self.classes]
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
                shape = getattr(images, "shape", None)
                dtype = getattr(images, "dtype", type(images).__name__)
                raise DataError(
                    f"ImageDataset {self.name!r}: {split}_images must be uint8 of shape "
                    f"(N, H, W, C), got {dtype} of shape {shape}"
                )
            labels = getattr(self, f"{split}_labels")
            _check_labels(f"ImageDataset {self.name!r}", split, len(images), labels,
                          len(self.classes))
        if self.train_images.shape[1:] != self.test_images.shape[1:] and len(self.test_images):
            raise DataError(
                f"ImageDataset {self.name!r}: train images are {self.train_images.shape[1:]} "
                f"but test images are {self.test_images.shape[1:]}"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every image."""
        h, w, c = self.train_images.shape[1:]
        return int(h), int(w), int(c)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_features(self) -> int:
        """Length of an image flattened into a feature vector, ``H * W * C``."""
        h, w, c = self.image_shape
        return h * w * c

    def describe(self) -> str:
        """One line: name, sizes, image shape, classes.

        >>> cr.data.load("digits").describe()
        'digits: 1,438 train + 359 test images of 8x8 gray, 10 classes (0, 1, 2, ..., 9)'
        """
        h, w, c = self.image_shape
        color = {1: "gray", 3: "RGB"}.get(c, f"{c} channels")
        return (
            f"{self.name}: {len(self.train_images):,} train + {len(self.test_images):,} test "
            f"images of {h}x{w} {color}, {self.num_classes} classes ({_short_list(self.classes)})"
        )


@dataclass
class TabularDataset:
    """Labelled feature vectors (e.g. from a CSV file) with a training and a test split.

    ``train_features`` / ``test_features``: ``(N, D)`` float32; labels ``(N,)`` int64
    indices into ``classes``; ``feature_names``: the ``D`` column names.
    """

    name: str
    train_features: np.ndarray
    train_labels: np.ndarray
    test_features: np.ndarray
    test_labels: np.ndarray
    classes: list[str]
    feature_names: list[str]
    source: str = field(default="")

    def __post_init__(self) -> None:
        self.train_features = np.asarray(self.train_features, dtype=np.float32)
        self.test_features = np.asarray(self.test_features, dtype=np.float32)
        self.train_labels = np.asarray(self.train_labels, dtype=np.int64)
        self.test_labels = np.asarray(self.test_labels, dtype=np.int64)
        self.classes = [str(c) for c in self.classes]
        for split in ("train", "test"):
            features = getattr(self, f"{split}_features")
            if features.ndim != 2 or features.shape[1] != len(self.feature_names):
                raise DataError(
                    f"TabularDataset {self.name!r}: {split}_features must be (N, "
                    f"{len(self.feature_names)}) for {len(self.feature_names)} feature names, "
                    f"got {features.shape}"
                )
            _check_labels(f"TabularDataset {self.name!r}", split, len(features),
                          getattr(self, f"{split}_labels"), len(self.classes))

    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        """One line: name, sizes, number of features, classes."""
        return (
            f"{self.name}: {len(self.train_features):,} train + {len(self.test_features):,} "
            f"test rows of {self.num_features} features, {self.num_classes} classes "
            f"({_short_list(self.classes)})"
        )


Dataset = Union[ImageDataset, TabularDataset]  # noqa: UP007 (a runtime alias, Python 3.10)


def _short_list(items: list[str], keep: int = 3) -> str:
    if len(items) <= keep + 2:
        return ", ".join(items)
    return ", ".join(items[:keep]) + ", ..., " + items[-1]


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class DatasetInfo:
    """What the library knows about a data set it can load by name.

    ``files``: ``(file name, official md5)`` pairs that :func:`chainrule.data.download`
    fetches from the first working URL of ``mirrors`` (base URLs, the file name appended).
    """

    name: str
    title: str
    summary: str
    files: tuple[tuple[str, str], ...] = ()
    mirrors: tuple[str, ...] = ()
    license: str = ""


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "digits",
            "Digits (scikit-learn)",
            "1,797 handwritten digits, 8x8 gray, 10 classes; embedded, no download "
            f"(stratified test split {DEFAULT_TEST_FRACTION:.0%}, seed 0)",
            license="CC BY 4.0 (UCI optdigits)",
        ),
        DatasetInfo(
            "mnist",
            "MNIST",
            "70,000 handwritten digits, 28x28 gray, 10 classes (60,000 train / 10,000 test)",
            files=(
                ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            ),
            mirrors=(
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ),
            license="CC BY-SA 3.0 (LeCun, Cortes)",
        ),
        DatasetInfo(
            "fashion-mnist",
            "Fashion-MNIST",
            "70,000 clothing images, 28x28 gray, 10 classes (60,000 train / 10,000 test)",
            files=(
                ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            ),
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            license="MIT (Zalando SE)",
        ),
        DatasetInfo(
            "cifar10",
            "CIFAR-10",
            "60,000 photos, 32x32 RGB, 10 classes (50,000 train / 10,000 test); "
            "the official python batches, or the JPEG class-folder zip",
            files=(("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
            mirrors=("https://www.cs.toronto.edu/~kriz/",),
            license="cite Krizhevsky 2009",
        ),
    )
}
