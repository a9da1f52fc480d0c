"""``load()``: a registered name or a path in, the right loader chosen, a dataset out.

This is the one module that imports every loader; the loaders import only the types of
:mod:`chainrule.data.datasets`, so imports flow one way::

    dispatch -> locations -> loaders (cifar, idx, imagefolder, digits, tabular) -> datasets

>>> import chainrule as cr
>>> cr.data.load("digits").describe()
'digits: 1,438 train + 359 test images of 8x8 gray, 10 classes (0, 1, 2, ..., 9)'
"""

from __future__ import annotations

from pathlib import Path

from chainrule.data.cifar import is_cifar_source, load_cifar10
from chainrule.data.datasets import DATASETS, DEFAULT_TEST_FRACTION, Dataset
from chainrule.data.digits import load_digits
from chainrule.data.idx import find_idx_files, load_mnist
from chainrule.data.imagefolder import load_image_folder
from chainrule.data.locations import candidate_locations, locate
from chainrule.data.tabular import load_csv
from chainrule.errors import DataError

__all__ = ["load"]


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
    :func:`~chainrule.data.default_data_dir`; see
    :func:`~chainrule.data.candidate_locations`).

    Paths: a folder of MNIST-style IDX files (Fashion-MNIST's class names when the
    folder's name contains ``fashion``); a CIFAR-10 python batches folder or its
    ``.tar.gz``; an image folder (one sub-folder per class, optional ``train/`` and
    ``test/``) or a ``.zip`` of one (or a folder holding just that zip); a ``.csv``
    with a ``label_column``. When a data set has
    no test split, a stratified one of ``test_fraction`` is drawn with ``seed``. ``size``
    and ``grayscale`` apply to image folders (see :func:`~chainrule.data.load_image_folder`).

    >>> load("digits", test_fraction=0.5).describe()
    'digits: 899 train + 898 test images of 8x8 gray, 10 classes (0, 1, 2, ..., 9)'
    """
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
