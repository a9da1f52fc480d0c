"""Data: labelled images and features, loaders, splits and standardization.

The lecture's data-driven approach: collect labelled images, ``train(images, labels)``,
then ``predict`` on held-out test images. Everything here returns an
:class:`ImageDataset` (``(N, H, W, C)`` uint8 images, int64 labels, class names, a train
and a test split) or, for a CSV of features, a :class:`TabularDataset`.

>>> import chainrule as cr
>>> ds = cr.data.load("digits")                     # embedded: no download
>>> X = cr.data.images_to_features(ds.train_images) # (1438, 64) float32 in [0, 1]
>>> X_tr, X_val, y_tr, y_val = cr.data.train_val_split(X, ds.train_labels, val_fraction=0.1)
>>> scaler = cr.data.Standardizer().fit(X_tr)       # statistics of the training split only
>>> loader = cr.data.DataLoader(scaler.transform(X_tr), y_tr, batch_size=128, seed=0)
>>> xb, yb = next(iter(loader))
>>> xb.shape, yb.data.dtype
((128, 64), dtype('int64'))

Loaders by format: :func:`load_digits`, :func:`load_mnist` (IDX), :func:`load_cifar10`
(python batches or tar.gz), :func:`load_image_folder` (class folders or a zip),
:func:`load_csv`; :func:`read_idx` and :func:`load_image` read single files;
:func:`download` fetches MNIST, Fashion-MNIST and CIFAR-10 with md5 checks. The
lecture's toy 2D sets: :func:`spiral`, :func:`circles`, :func:`xor`, :func:`gaussians`,
:func:`moons` (from :mod:`chainrule.data.toy`).

Layout (imports flow one way, down this list): :mod:`~chainrule.data.dispatch` (``load``)
-> :mod:`~chainrule.data.locations` (where registered sets live) -> the loaders
(:mod:`~chainrule.data.cifar`, :mod:`~chainrule.data.idx`,
:mod:`~chainrule.data.imagefolder`, :mod:`~chainrule.data.digits`,
:mod:`~chainrule.data.tabular`) -> :mod:`~chainrule.data.datasets` (the types and the
registry). :mod:`~chainrule.data.inventory` (``describe_datasets``: which registered sets
are present) reads the locations; :mod:`~chainrule.data.fetch` (``download``) reads the
registry;
:mod:`~chainrule.data.split`, :mod:`~chainrule.data.loader` and :mod:`~chainrule.data.toy`
stand alone.
"""

from chainrule.data.cifar import CIFAR10_CLASSES, load_cifar10
from chainrule.data.datasets import (
    DATASETS,
    DEFAULT_TEST_FRACTION,
    Dataset,
    DatasetInfo,
    ImageDataset,
    TabularDataset,
)
from chainrule.data.digits import load_digits
from chainrule.data.dispatch import load
from chainrule.data.fetch import download, md5sum
from chainrule.data.idx import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_mnist, read_idx
from chainrule.data.imagefolder import IMAGE_EXTENSIONS, cache_dir, load_image, load_image_folder
from chainrule.data.inventory import DatasetStatus, describe_datasets
from chainrule.data.loader import DataLoader
from chainrule.data.locations import candidate_locations, default_data_dir, locate
from chainrule.data.split import (
    Standardizer,
    images_to_features,
    stratified_split_indices,
    train_val_split,
)
from chainrule.data.tabular import load_csv
from chainrule.data.toy import circles, gaussians, moons, spiral, xor

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "DEFAULT_TEST_FRACTION",
    "FASHION_MNIST_CLASSES",
    "IMAGE_EXTENSIONS",
    "MNIST_CLASSES",
    "DataLoader",
    "Dataset",
    "DatasetInfo",
    "DatasetStatus",
    "ImageDataset",
    "Standardizer",
    "TabularDataset",
    "cache_dir",
    "candidate_locations",
    "circles",
    "default_data_dir",
    "describe_datasets",
    "download",
    "gaussians",
    "images_to_features",
    "load",
    "load_cifar10",
    "load_csv",
    "load_digits",
    "load_image",
    "load_image_folder",
    "load_mnist",
    "locate",
    "md5sum",
    "moons",
    "read_idx",
    "spiral",
    "stratified_split_indices",
    "train_val_split",
    "xor",
]
