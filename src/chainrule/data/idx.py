"""MNIST and Fashion-MNIST from the official IDX files (gzip-compressed or raw).

The IDX format (LeCun's) is a 4-byte magic number, one big-endian uint32 per dimension,
then the data, C-ordered and big-endian:

    magic = 0x00 0x00 <type code> <number of dimensions>
    type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64

The images file of MNIST is ``(60000, 28, 28)`` uint8 (magic ``0x00000803``), the labels
file ``(60000,)`` uint8 (magic ``0x00000801``).

>>> ds = load_mnist("~/.chainrule/data/mnist")          # doctest: +SKIP
>>> ds.train_images.shape, ds.test_images.shape         # doctest: +SKIP
((60000, 28, 28, 1), (10000, 28, 28, 1))
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from chainrule.data.datasets import ImageDataset
from chainrule.errors import DataError

__all__ = [
    "FASHION_MNIST_CLASSES",
    "IDX_FILES",
    "MNIST_CLASSES",
    "find_idx_files",
    "load_mnist",
    "read_idx",
]

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

#: The four files of an MNIST-style folder, by role, under their official names.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


#: Deflate cannot inflate a byte to more than about 1032 bytes: a gzip file whose IDX header
#: announces more than this times its size is lying (an overflowing or corrupt header).
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


def _read_up_to(stream: IO[bytes], n: int) -> bytearray:
    """Up to ``n`` bytes of ``stream`` (fewer at its end), never more: a bounded read."""
    out = bytearray(n)
    view, got = memoryview(out), 0
    while got < n:
        k = stream.readinto(view[got:got + _CHUNK])
        if not k:
            break
        got += k
    del view
    del out[got:]
    return out


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into a NumPy array of its native shape.

    Multi-byte types are converted from big-endian to the machine's byte order.
    Raises :class:`chainrule.DataError` naming the file for a wrong magic number, a
    truncated file, trailing bytes, or a header announcing more data than the file holds.
    The header is read first and the data after it is read only up to the size the header
    announces (a gzip file is inflated as a stream), so memory never exceeds that size.

    >>> read_idx("mnist/train-labels-idx1-ubyte.gz").shape      # doctest: +SKIP
    (60000,)
    """
    path = Path(path).expanduser()
    try:
        f = open(path, "rb")  # closed below, with the gzip stream over it
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        gz = f.read(2) == _GZIP_MAGIC  # by its content, not by its name
        f.seek(0)
        if not gz:
            return _read_stream(path, f, size, gz)
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                return _read_stream(path, stream, size, gz)
        except EOFError:
            raise DataError(f"{path}: truncated gzip file (the download stopped early?)") from None
        except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise DataError(f"{path}: corrupt gzip file ({e})") from None


def _read_stream(path: Path, stream: IO[bytes], size: int, gz: bool) -> np.ndarray:
    head = _read_up_to(stream, 4)
    if len(head) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(head)} bytes, no 4-byte header)")
    zero, type_code, ndim = int.from_bytes(head[:2], "big"), head[2], head[3]
    if zero != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise DataError(
            f"{path}: wrong magic number 0x{bytes(head).hex()}: an IDX file starts with 0x0000, "
            f"a type code (08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64) "
            f"and the number of dimensions (e.g. 0x00000803 for images, 0x00000801 for labels)"
        )
    header_len = 4 + 4 * ndim
    dims = _read_up_to(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header_len} bytes, "
            f"the file has {4 + len(dims)}"
        )
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = _IDX_TYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a huge header cannot overflow
    if not gz:
        found = size - header_len
        if found > expected:
            raise DataError(
                f"{path}: {found - expected:,} unexpected bytes after the {expected:,} bytes of "
                f"data that the header {shape} announces (not an IDX file, or a corrupt one)"
            )
    elif expected > _MAX_DEFLATE_RATIO * size:
        raise DataError(
            f"{path}: the IDX header announces shape {shape} of {dtype.name} ({expected:,} "
            f"bytes), more than a {size:,}-byte gzip file can hold (a corrupt header)"
        )
    if not gz and size - header_len < expected:
        data = bytearray()  # too short: say so without reading it
        found = size - header_len
    else:
        data = _read_up_to(stream, expected)
        found = len(data)
    if found < expected:
        raise DataError(
            f"{path}: truncated IDX file: shape {shape} of {dtype.name} needs {expected:,} "
            f"bytes of data, the file has {found:,}"
        )
    if gz and stream.read(1):
        raise DataError(
            f"{path}: unexpected bytes after the {expected:,} bytes of data that the header "
            f"{shape} announces (not an IDX file, or a corrupt one)"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize)
    # A writable array in the machine's byte order (frombuffer's view is read-only).
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def _candidates(stem: str) -> list[str]:
    """File names under which an IDX file may be stored: official, raw, and the dotted variant."""
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte (some redistributions)
    return [f"{stem}.gz", stem, f"{dotted}.gz", dotted]


def find_idx_files(folder: str | Path) -> dict[str, Path] | None:
    """The four MNIST-style IDX files in ``folder`` by role, or ``None`` when any is missing."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return None
    found: dict[str, Path] = {}
    for role, stem in IDX_FILES.items():
        for name in _candidates(stem):
            if (folder / name).is_file():
                found[role] = folder / name
                break
        else:
            return None
    return found


def _missing_files_error(folder: Path, title: str, download_name: str | None) -> DataError:
    missing = []
    for stem in IDX_FILES.values():
        if not any((folder / n).is_file() for n in _candidates(stem)):
            missing.append(f"{stem}.gz")
    hint = f"; run `chainrule download {download_name}` to fetch them" if download_name else ""
    where = f"{folder}" if folder.is_dir() else f"{folder} (no such folder)"
    return DataError(f"{title}: expected {', '.join(missing)} (or uncompressed) in {where}{hint}")


def load_mnist(
    root: str | Path, kind: str = "mnist", *, name: str | None = None
) -> ImageDataset:
    """Load MNIST or Fashion-MNIST from a folder holding the four official IDX files.

    ``kind`` is ``'mnist'`` (class names ``'0'..'9'``) or ``'fashion-mnist'`` (Zalando's
    ten class names). Images come back as ``(N, 28, 28, 1)`` uint8, labels as int64; the
    official split is kept (60,000 train, 10,000 test).

    >>> ds = load_mnist("~/.chainrule/data/fashion-mnist", kind="fashion-mnist")  # doctest: +SKIP
    >>> ds.classes[:3]                                                           # doctest: +SKIP
    ['T-shirt/top', 'Trouser', 'Pullover']
    """
    if kind not in ("mnist", "fashion-mnist"):
        raise ValueError(f"load_mnist: kind must be 'mnist' or 'fashion-mnist', got {kind!r}")
    folder = Path(root).expanduser()
    title = "MNIST" if kind == "mnist" else "Fashion-MNIST"
    files = find_idx_files(folder)
    if files is None:
        raise _missing_files_error(folder, title, kind)
    arrays = {role: read_idx(path) for role, path in files.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        image_file, label_file = files[f"{split}_images"], files[f"{split}_labels"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(
                f"{image_file}: expected uint8 images of shape (N, H, W), "
                f"found {images.dtype} of shape {images.shape}"
            )
        if labels.ndim != 1:
            raise DataError(f"{label_file}: expected labels of shape (N,), found {labels.shape}")
        if len(images) != len(labels):
            raise DataError(
                f"{title}: {image_file.name} holds {len(images):,} images but "
                f"{label_file.name} holds {len(labels):,} labels (in {folder})"
            )
        if labels.size and int(labels.max()) >= 10:
            raise DataError(f"{label_file}: label {int(labels.max())} is out of range 0..9")
    classes = MNIST_CLASSES if kind == "mnist" else FASHION_MNIST_CLASSES
    return ImageDataset(
        name=name or kind,
        train_images=arrays["train_images"][..., None],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"][..., None],
        test_labels=arrays["test_labels"].astype(np.int64),
        classes=list(classes),
        source=str(folder),
    )
