"""CIFAR-10 in its official python format: a batches folder or ``cifar-10-python.tar.gz``.

The archive holds ``cifar-10-batches-py/`` with ``data_batch_1`` .. ``data_batch_5``
(10,000 images each), ``test_batch`` and ``batches.meta``. Each batch is a pickled dict:
``b'data'`` a ``(10000, 3072)`` uint8 array whose rows are the red, then green, then blue
32x32 planes, and ``b'labels'`` a list of 10,000 integers in 0..9. The images come back as
``(N, 32, 32, 3)`` uint8.

The pickles are read with an unpickler that only builds dicts, lists, numbers, bytes and
NumPy arrays, so a tampered archive cannot run code.

>>> ds = load_cifar10("~/.chainrule/data/cifar10/cifar-10-python.tar.gz")   # doctest: +SKIP
>>> ds.train_images.shape, ds.classes[:2]                                   # doctest: +SKIP
((50000, 32, 32, 3), ['airplane', 'automobile'])
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from chainrule.data.datasets import ImageDataset
from chainrule.errors import DataError

__all__ = ["BATCH_FILES", "CIFAR10_CLASSES", "is_cifar_source", "load_cifar10"]

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
#: The files of the batches folder (and of ``cifar-10-batches-py/`` in the archive).
BATCH_FILES = (*TRAIN_BATCHES, TEST_BATCH, META)
_SIDE = 32
#: The largest batch file read (an official one is 31,035,xxx bytes: 10,000 images of 3,072
#: bytes, labels and file names) and the largest ``batches.meta`` (158 bytes).
MAX_BATCH_BYTES = 40 * 1024 * 1024
MAX_META_BYTES = 64 * 1024
#: How far into an archive's (inflated) content the batches are looked for: the official
#: archive holds 178 MB. Past this a ``.tar.gz`` is not CIFAR-10 (or a decompression bomb).
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
        from numpy._core.numeric import _frombuffer
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[no-redef]
        from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]
    allowed = {"_reconstruct": _reconstruct, "scalar": scalar, "ndarray": np.ndarray,
               "dtype": np.dtype}
    table: dict[tuple[str, str], Any] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy"):
        for name, obj in allowed.items():
            table[(module, name)] = obj
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        table[(module, "_frombuffer")] = _frombuffer  # pickle protocol 5 (Python 3 writers)
    table[("_codecs", "encode")] = codecs.encode  # bytes in protocol 2 from Python 3 writers
    return table


class _SafeUnpickler(pickle.Unpickler):
    """Builds plain containers and NumPy arrays only; any other class is refused."""

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return self._allowed[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _unpickle(stream: IO[bytes], where: str) -> dict:
    """The dict pickled in ``stream``, read as a stream (no copy of the whole file)."""
    try:
        obj = _SafeUnpickler(stream, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, OverflowError) as e:
        raise DataError(f"{where}: not a readable CIFAR batch ({type(e).__name__}: "
                        f"{str(e)[:80]})") from None
    except MemoryError:  # the file is at most MAX_BATCH_BYTES: a size in it is a lie
        raise DataError(f"{where}: not a readable CIFAR batch (it asks for more memory "
                        "than a batch file can hold)") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a pickled dict, found {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _batch_arrays(batch: dict, where: str) -> tuple[np.ndarray, np.ndarray]:
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{where}: expected keys 'data' and 'labels', found "
                        f"{sorted(map(str, batch))[:10]}")
    data, raw_labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * _SIDE * _SIDE:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) \
            else type(data).__name__
        raise DataError(f"{where}: expected uint8 data of shape (N, 3072), found {found}")
    # Only plain ints: a pickle can make a list of many references to one big object, which
    # np.asarray would expand into an array far larger than the file.
    if not isinstance(raw_labels, list) or not all(type(v) is int for v in raw_labels):
        raise DataError(f"{where}: expected 'labels' to be a list of integers")
    labels = np.asarray(raw_labels, dtype=np.int64)
    if labels.shape != (len(data),):
        raise DataError(
            f"{where}: {len(data):,} images but {labels.size:,} labels (counts must match)"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{where}: labels must lie in 0..9, found {labels.min()}..{labels.max()}")
    images = data.reshape(-1, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith((".tar.gz", ".tgz", ".tar"))


def _batches_folder(path: Path) -> Path | None:
    """The folder holding the batches: ``path`` itself or its ``cifar-10-batches-py``."""
    for folder in (path, path / "cifar-10-batches-py"):
        if (folder / "data_batch_1").is_file() or (folder / TEST_BATCH).is_file():
            return folder
    return None


def is_cifar_source(path: str | Path) -> bool:
    """Whether ``path`` looks like CIFAR-10's python format (folder, or a tarball in one)."""
    path = Path(path).expanduser()
    if _is_tarball(path):
        return True
    if not path.is_dir():
        return False
    return _batches_folder(path) is not None or (path / "cifar-10-python.tar.gz").is_file()


def _size_limit(name: str) -> int:
    return MAX_META_BYTES if name == META else MAX_BATCH_BYTES


def _read_members_from_tar(path: Path) -> dict[str, dict]:
    """The batches of a CIFAR-10 archive, read member by member from the inflating stream.

    Every member's declared size is checked before it is read, and the scan stops at
    :data:`MAX_ARCHIVE_BYTES` of content, so a small archive that inflates to gigabytes is
    refused after reading its headers, not after filling memory.
    """
    wanted = set(BATCH_FILES)
    found: dict[str, dict] = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                base = member.name.rsplit("/", 1)[-1]
                limit = _size_limit(base) if base in wanted else MAX_BATCH_BYTES
                if member.size > limit or member.offset_data > MAX_ARCHIVE_BYTES:
                    raise DataError(
                        f"{path}: {member.name} is {member.size:,} bytes at offset "
                        f"{member.offset_data:,}; CIFAR-10's archive holds files of at most "
                        f"{limit:,} bytes in {MAX_ARCHIVE_BYTES:,} (not CIFAR-10, or a "
                        "decompression bomb)"
                    )
                if member.isfile() and base in wanted and base not in found:
                    stream = archive.extractfile(member)
                    if stream is not None:  # read (size checked above), then unpickle
                        data = io.BytesIO(stream.read())
                        found[base] = _unpickle(data, f"{path}:{base}")
            # To the end of the compressed stream: its checksum is checked only there, so a
            # cut or damaged archive is refused even when every batch came out whole.
            fileobj = archive.fileobj
            for _ in range(64):
                if fileobj is None or not fileobj.read(1 << 16):
                    break
    except tarfile.ReadError as e:
        detail = str(e).splitlines()[0].rstrip(":")
        raise DataError(f"{path}: not a readable .tar.gz or .tar archive ({detail})") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt archive ({e})") from None
    return found


def _read_members_from_folder(folder: Path) -> dict[str, dict]:
    """The batches of a batches folder, each file's size checked before it is read."""
    found: dict[str, dict] = {}
    for name in BATCH_FILES:
        file = folder / name
        if not file.is_file():
            continue
        size = file.stat().st_size
        if size > _size_limit(name):
            raise DataError(f"{file}: {size:,} bytes, more than a CIFAR-10 {name} file "
                            f"holds (at most {_size_limit(name):,})")
        with open(file, "rb") as f:
            found[name] = _unpickle(f, str(file))
    return found


def load_cifar10(root: str | Path, *, name: str = "cifar10") -> ImageDataset:
    """Load CIFAR-10 from the python batches folder or ``cifar-10-python.tar.gz``.

    ``root`` may be the tarball, the ``cifar-10-batches-py`` folder, or a folder that
    contains either. Class names come from ``batches.meta`` when present.
    """
    root = Path(root).expanduser()
    tarball = root / "cifar-10-python.tar.gz"
    if root.is_dir() and _batches_folder(root) is None and tarball.is_file():
        root = tarball
    if _is_tarball(root):
        batches = _read_members_from_tar(root)
        where = {n: f"{root}:{n}" for n in batches}
        source = root
    else:
        folder = _batches_folder(root) if root.is_dir() else None
        if folder is None:
            raise DataError(
                f"CIFAR-10: expected data_batch_1..5, test_batch and batches.meta in {root} "
                f"(or in its cifar-10-batches-py/), or cifar-10-python.tar.gz; "
                f"run `chainrule download cifar10` to fetch it"
            )
        batches = _read_members_from_folder(folder)
        where = {n: str(folder / n) for n in batches}
        source = folder
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if n not in batches]
    if missing:
        raise DataError(f"CIFAR-10: {', '.join(missing)} missing from {source}")

    classes = list(CIFAR10_CLASSES)
    if META in batches:
        names = batches[META].get("label_names")
        if not isinstance(names, list) or len(names) != 10 or not all(
                isinstance(n, (bytes, str)) for n in names):
            raise DataError(f"{where[META]}: expected 10 'label_names', found "
                            f"{str(names)[:80]}")
        try:
            classes = [n.decode() if isinstance(n, bytes) else n for n in names]
        except UnicodeDecodeError:
            raise DataError(f"{where[META]}: 'label_names' are not UTF-8 text") from None

    parts = [_batch_arrays(batches[n], where[n]) for n in TRAIN_BATCHES]
    test_images, test_labels = _batch_arrays(batches[TEST_BATCH], where[TEST_BATCH])
    return ImageDataset(
        name=name,
        train_images=np.concatenate([p[0] for p in parts]),
        train_labels=np.concatenate([p[1] for p in parts]),
        test_images=test_images,
        test_labels=test_labels,
        classes=classes,
        source=str(source),
    )
