"""What runs read: a data set's train and test arrays, random subsets, and image files.

>>> train_x, train_y, test_x, test_y = load_splits("digits")[1:]   # doctest: +SKIP
>>> images = load_image_files(["seven.png"], (8, 8, 1))              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from chainrule.errors import ConfigError, DataError
from chainrule.train.image_look import ImageLook, fit_to_drawing

__all__ = ["ImageSplits", "load_image_files", "load_image_splits", "load_splits",
           "read_image_file", "read_image_files"]

#: ``{'train': (images, labels), 'test': (images, labels)}`` with uint8 ``(N, H, W, C)`` images.
ImageSplits = dict[str, tuple[np.ndarray, np.ndarray]]


def load_splits(data: str, data_dir: str | None = None, size: tuple[int, int] | None = None,
                grayscale: bool = False, *, label_column: str = "label",
                ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data set and its ``train_x, train_y, test_x, test_y`` (images or feature rows).

    ``size`` and ``grayscale`` apply to image folders (see :func:`chainrule.data.load`),
    ``label_column`` to a CSV.
    Data sets without an official test split (digits, image folders without ``test/``) get
    the loader's seeded split with its default seed, whatever a run's ``--seed``: the test
    set belongs to the data, so runs with different seeds are measured on the same images.
    """
    from chainrule import data as crdata

    ds = crdata.load(data, data_dir=data_dir, size=size, grayscale=grayscale,
                     label_column=label_column)
    if hasattr(ds, "train_images"):
        return ds, ds.train_images, ds.train_labels, ds.test_images, ds.test_labels
    return ds, ds.train_features, ds.train_labels, ds.test_features, ds.test_labels


def load_image_splits(data: str, data_dir: str | None = None, limit: int | None = None,
                      seed: int = 0, size: tuple[int, int] | None = None
                      ) -> tuple[ImageSplits, list[str], str]:
    """An image data set's splits (a random ``limit`` train and ``limit // 5`` test images).

    Returns the splits, the class names and the data set's title. The loader splits data
    sets without a test split with ``seed``, which also draws the subsets. ``size`` resizes
    an image folder's images.

    >>> parts, classes, title = load_image_splits("digits", limit=100)   # doctest: +SKIP
    >>> len(parts["train"][0]), len(parts["test"][0])                     # doctest: +SKIP
    (100, 20)
    """
    from chainrule.data import load

    dataset = load(data, data_dir, seed=seed, size=size)
    if not hasattr(dataset, "train_images"):
        raise DataError(f"{data}: image features need an image data set, this one holds "
                        f"feature vectors")
    parts = {"train": (dataset.train_images, dataset.train_labels),
             "test": (dataset.test_images, dataset.test_labels)}
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {limit}")
        rng = np.random.default_rng(seed)
        for split, count in (("train", limit), ("test", max(1, limit // 5))):
            images, labels = parts[split]
            if count < len(images):
                keep = np.sort(rng.choice(len(images), count, replace=False))
                parts[split] = (images[keep], labels[keep])
    return parts, list(dataset.classes), getattr(dataset, "name", str(data))


def load_image_files(paths: list[str | Path], image_shape: tuple[int, int, int],
                     invert: bool = False) -> np.ndarray:
    """Read PNG/JPEG files into ``(N, H, W, C)`` uint8 the way the training images were.

    Each file is converted to grayscale (``C == 1``) or RGB (``C == 3``) and resized to the
    training images' ``H x W`` (Lanczos, which also anti-aliases when shrinking).
    ``invert`` maps ``v -> 255 - v``: the digit sets are light ink on a dark background, while
    most drawings are dark on light.
    """
    return read_image_files(paths, image_shape, invert)[0]


def read_image_files(paths: list[str | Path], image_shape: tuple[int, int, int],
                     invert: bool = False, fit: ImageLook | None = None
                     ) -> tuple[np.ndarray, list[ImageLook]]:
    """:func:`load_image_files`, plus how each file looks (after ``invert``) at full size.

    With ``fit`` (the training images' look), each image is first cropped to a square
    around its drawing that the drawing fills as the training drawings fill theirs
    (:func:`~chainrule.train.image_look.fit_to_drawing`). The first file that cannot be
    read raises (:func:`chainrule.train.predict_files` goes on past bad files instead).
    """
    h, w, c = image_shape
    out = np.empty((len(paths), h, w, c), dtype=np.uint8)
    looks = []
    for i, p in enumerate(paths):
        out[i], look = read_image_file(p, image_shape, invert, fit)
        looks.append(look)
    return out, looks


def read_image_file(path: str | Path, image_shape: tuple[int, int, int],
                    invert: bool = False, fit: ImageLook | None = None
                    ) -> tuple[np.ndarray, ImageLook]:
    """One file as :func:`read_image_files` reads it: ``(H, W, C)`` uint8 and its look.

    The file is untrusted: one of more than 256 MB, or an image of more pixels than
    :data:`chainrule.data.images.MAX_PIXELS` (a decompression bomb), is refused before it
    is decoded; whatever Pillow raises on a malformed file is one line naming the file.
    """
    from chainrule.data.images import DECODE_ERRORS, check_member_size, open_image, pillow

    Image = pillow()
    h, w, c = image_shape
    if c not in (1, 3):
        raise DataError(f"predict: cannot convert files to {c}-channel images")
    p = Path(path)
    try:
        check_member_size(str(p), p.stat().st_size)
        data = p.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such image file") from None
    except IsADirectoryError:
        raise DataError(f"{p}: is a folder, not an image file") from None
    img = open_image(data, str(p), unreadable="not a readable PNG/JPEG image")
    try:
        with img:
            img = img.convert("L" if c == 1 else "RGB")
            full = np.asarray(img, dtype=np.uint8).reshape(img.size[1], img.size[0], c)
    except DECODE_ERRORS as e:
        raise DataError(f"{p}: not a readable PNG/JPEG image ({e})") from None
    gray = full.mean(axis=2) / 255.0
    look = ImageLook.of(1.0 - gray if invert else gray)
    if fit is not None:
        full = fit_to_drawing(gray, full, fit)
    img = Image.fromarray(full[..., 0] if c == 1 else full)
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8).reshape(h, w, c)
    return (255 - arr if invert else arr), look
