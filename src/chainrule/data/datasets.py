"""Datasets: the types every loader returns, the registry of known names, and :func:`load`.

The lecture's data-driven approach needs labelled images split into a training set and a
held-out test set. :class:`ImageDataset` holds exactly that (images ``(N, H, W, C)`` uint8,
labels int64, class names); :class:`TabularDataset` is its sibling for a table of features.

:func:`load` takes a registered name (``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``)
or a path (a folder or file in any supported format, detected from its content):

>>> import chainrule as cr
>>> ds = cr.data.load("digits")
>>> ds.train_images.shape, ds.test_images.shape, ds.num_classes
((1438, 8, 8, 1), (359, 8, 8, 1), 10)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from chainrule.errors import DataError

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "ImageDataset",
    "TabularDataset",
    "candidate_locations",
    "default_data_dir",
    "load",
    "locate",
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

        >>> load("digits").describe()
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

#: Where the Debian package ``dataset-fashion-mnist`` installs its files.
_DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def default_data_dir() -> Path:
    """``$CHAINRULE_DATA`` when set, else ``~/.chainrule/data``."""
    env = os.environ.get("CHAINRULE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".chainrule" / "data"


def _data_dir(data_dir: str | Path | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def candidate_locations(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Where :func:`load` looks for the registered data set ``name``, in order."""
    root = _data_dir(data_dir)
    if name in ("mnist", "fashion-mnist"):
        places = [root / name]
        if name == "fashion-mnist":
            places += [root / "fashion_mnist", _DEBIAN_FASHION_MNIST]
        return [*places, root]
    if name == "cifar10":
        official = [
            root / "cifar10" / "cifar-10-batches-py",
            root / "cifar10" / "cifar-10-python.tar.gz",
            root / "cifar10",
            root / "cifar-10-batches-py",
            root / "cifar-10-python.tar.gz",
        ]
        jpeg = [
            root / "cifar10" / "cifar10-jpeg.zip",
            root / "cifar10-jpeg" / "cifar10-jpeg.zip",
            root / "cifar10-jpeg.zip",
        ]
        return official + jpeg
    if name == "digits":
        return []
    raise DataError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def locate(name: str, data_dir: str | Path | None = None) -> Path | None:
    """The first place where the registered data set ``name`` is present, or ``None``.

    For ``digits`` (embedded in scikit-learn) this is ``None``: nothing to locate.
    """
    from chainrule.data.cifar import is_cifar_source
    from chainrule.data.idx import find_idx_files

    for place in candidate_locations(name, data_dir):
        if name == "cifar10":
            if place.suffix == ".zip" and place.is_file():
                return place
            if is_cifar_source(place):
                return place
        elif find_idx_files(place) is not None:
            return place
    return None


def _not_found(name: str, data_dir: str | Path | None) -> DataError:
    places = ", ".join(str(p) for p in candidate_locations(name, data_dir))
    return DataError(
        f"{DATASETS[name].title} not found (looked in {places}); run `chainrule download "
        f"{name}`, or pass --data-dir / data_dir= (or set CHAINRULE_DATA) to the folder "
        f"that holds it"
    )


def load(
    name_or_path: str | Path,
    data_dir: str | Path | None = None,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    label_column: str = "label",
    size: int | tuple[int, int] | None = None,
    grayscale: bool = False,
) -> Dataset:
    """Load a data set by registered name or from a path, detecting its format.

    Names: ``digits`` (embedded, the default of ``chainrule train``), ``mnist``,
    ``fashion-mnist``, ``cifar10`` (looked for under ``data_dir``, default
    :func:`default_data_dir`; see :func:`candidate_locations`).

    Paths: a folder of MNIST-style IDX files (Fashion-MNIST's class names when the
    folder's name contains ``fashion``); a CIFAR-10 python batches folder or its
    ``.tar.gz``; an image folder (one sub-folder per class, optional ``train/`` and
    ``test/``) or a ``.zip`` of one (or a folder holding just that zip); a ``.csv``
    with a ``label_column``. When a data set has
    no test split, a stratified one of ``test_fraction`` is drawn with ``seed``. ``size``
    and ``grayscale`` apply to image folders (see :func:`load_image_folder`).

    >>> load("digits", test_fraction=0.5).describe()
    'digits: 899 train + 898 test images of 8x8 gray, 10 classes (0, 1, 2, ..., 9)'
    """
    from chainrule.data.cifar import is_cifar_source, load_cifar10
    from chainrule.data.digits import load_digits
    from chainrule.data.idx import find_idx_files, load_mnist
    from chainrule.data.imagefolder import load_image_folder
    from chainrule.data.tabular import load_csv

    key = str(name_or_path)
    if key == "digits":
        return load_digits(test_fraction=test_fraction, seed=seed)
    if key in DATASETS:
        where = locate(key, data_dir)
        if where is None:
            raise _not_found(key, data_dir)
        if key in ("mnist", "fashion-mnist"):
            return load_mnist(where, kind=key)
        if where.suffix == ".zip":
            return load_image_folder(where, name="CIFAR-10 (JPEG)",
                                     test_fraction=test_fraction, seed=seed)
        return load_cifar10(where)

    path = Path(key).expanduser()
    if not path.exists():
        raise DataError(
            f"unknown dataset {key!r}: expected one of {', '.join(DATASETS)}, or a path to a "
            f"folder, .zip, .tar.gz or .csv (no such file or folder: {path})"
        )
    split = {"test_fraction": test_fraction, "seed": seed}
    if path.is_file():
        lower = path.name.lower()
        if lower.endswith((".csv", ".tsv", ".txt")):
            return load_csv(path, label_column=label_column, **split)
        if lower.endswith(".zip"):
            return load_image_folder(path, size=size, grayscale=grayscale, **split)
        if is_cifar_source(path):
            return load_cifar10(path)
        raise DataError(
            f"{path}: unsupported file type: expected a .csv of features, a .zip of class "
            f"folders, or CIFAR-10's cifar-10-python.tar.gz"
        )
    if find_idx_files(path) is not None:
        kind = "fashion-mnist" if "fashion" in path.name.lower() else "mnist"
        return load_mnist(path, kind=kind, name=path.name)
    if is_cifar_source(path):
        return load_cifar10(path)
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_file() and entries[0].suffix.lower() == ".zip":
        # a folder that only holds a zip (as the shared cifar10-jpeg/ does): load the zip
        return load_image_folder(entries[0], size=size, grayscale=grayscale, **split)
    return load_image_folder(path, size=size, grayscale=grayscale, **split)
