"""Image folders: one sub-folder per class of PNG/JPEG files, from disk or from a ``.zip``.

Layouts understood (``ROOT`` may be a folder or a zip; a single wrapping folder, as
zips often have, is looked through)::

    ROOT/<class>/*.png                     -> a seeded stratified test split is drawn
    ROOT/train/<class>/*.jpg               -> the given split is kept
    ROOT/test/<class>/*.jpg                   (``val/`` or ``validation/`` also count as test)

Classes are the sub-folder names in sorted order (label 0 is the first), as in
torchvision's ``ImageFolder``. Images are decoded with Pillow into
``(H, W, C)`` uint8: gray images keep one channel unless some image of the set is in
colour, then all become RGB; ``grayscale=True`` makes all gray. Every image must have
the same size unless ``size`` is given, then all are resized to it. Large decoded zips
are cached (see :func:`load_image_folder`).

>>> ds = load_image_folder("pets/", size=(64, 64))          # doctest: +SKIP
>>> ds.classes, ds.image_shape                              # doctest: +SKIP
(['cat', 'dog'], (64, 64, 3))
"""

from __future__ import annotations

import hashlib
import mmap
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from chainrule.atomic import atomic_open
from chainrule.data.datasets import DEFAULT_TEST_FRACTION, ImageDataset
from chainrule.data.images import DECODE_ERRORS, check_member_size, open_image, pillow
from chainrule.data.split import stratified_split_indices
from chainrule.errors import DataError

__all__ = ["CACHE_ENV", "IMAGE_EXTENSIONS", "cache_dir", "load_image", "load_image_folder"]

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
_TEST_FOLDERS = ("test", "val", "valid", "validation")
_SPLIT_FOLDERS = ("train", *_TEST_FOLDERS)
_GRAY_MODES = frozenset({"1", "L", "LA", "La"})
_WIDE_GRAY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def _as_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        if len(size) != 2:
            raise ValueError(f"size must be an int or (height, width), got {size!r}")
        h, w = int(size[0]), int(size[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return h, w


_FORMATS_BY_SUFFIX = {".png": ["PNG"], ".jpg": ["JPEG"], ".jpeg": ["JPEG"]}


def _open(data: bytes, where: str) -> Any:
    """Open with Pillow, trying the format the file name promises first (faster than probing);
    an image of too many pixels is refused before it is decoded."""
    return open_image(data, where, _FORMATS_BY_SUFFIX.get(PurePosixPath(where).suffix.lower()))


def _decode(
    data: bytes, where: str, size: tuple[int, int] | None, channels: int | None
) -> np.ndarray:
    """One image as ``(H, W, C)`` uint8; ``channels`` 1 or 3 forces gray or RGB."""
    Image = pillow()
    img = _open(data, where)
    try:
        img.load()
        mode = img.mode
        if channels == 1 or (channels is None and mode in _GRAY_MODES | _WIDE_GRAY_MODES):
            if mode in _WIDE_GRAY_MODES and mode != "F":
                # 16-bit gray: keep the 8 most significant bits (convert('L') would clip).
                wide = np.asarray(img, dtype=np.uint32) >> 8
                img = Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8), "L")
            elif mode != "L":
                img = img.convert("L")
        elif mode != "RGB":
            img = img.convert("RGB")
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(img)
    except DECODE_ERRORS as e:  # truncated data, a broken decoder table, ...
        raise DataError(f"{where}: unreadable image ({e})") from None
    return array[..., None] if array.ndim == 2 else array


def load_image(
    path: str | Path,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    channels: int | None = None,
) -> np.ndarray:
    """Read one PNG/JPEG file as ``(H, W, C)`` uint8, optionally resized to ``size``.

    ``channels`` 1 or 3 converts to gray or RGB (e.g. to match a trained model's input);
    without it gray images keep one channel and others become RGB. ``grayscale=True``
    is ``channels=1``. ``size`` is an int (square) or ``(height, width)``.

    >>> load_image("cat.png", size=32, channels=3).shape        # doctest: +SKIP
    (32, 32, 3)
    """
    if channels not in (None, 1, 3):
        raise ValueError(f"load_image: channels must be 1 or 3, got {channels!r}")
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    return _decode(data, str(path), _as_size(size), 1 if grayscale else channels)


# --------------------------------------------------------------------------- sources
class _Tree:
    """Directories and image files of a folder or a zip, by POSIX path relative to its root.

    ``entries`` are relative paths; those ending in ``/`` are folders (so that an empty
    class folder is still seen). Hidden entries and ``__MACOSX`` are skipped.
    """

    def __init__(self, label: str, entries: list[str], read: Callable[[str], bytes]) -> None:
        self.label = label
        self.read = read
        self.images: dict[str, list[str]] = {}
        self.subdirs: dict[str, set[str]] = {}
        for rel in entries:
            is_dir = rel.endswith("/")
            parts = [p for p in rel.split("/") if p]
            if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            for depth in range(len(parts) if is_dir else len(parts) - 1):
                parent = "/".join(parts[:depth])
                self.subdirs.setdefault(parent, set()).add(parts[depth])
            if not is_dir and os.path.splitext(parts[-1])[1].lower() in IMAGE_EXTENSIONS:
                self.images.setdefault("/".join(parts[:-1]), []).append("/".join(parts))

    def dirs(self, folder: str) -> list[str]:
        return sorted(self.subdirs.get(folder, ()))

    def images_under(self, folder: str) -> list[str]:
        prefix = folder + "/"
        found = [f for d, fs in self.images.items() if d == folder or d.startswith(prefix)
                 for f in fs]
        return sorted(found)

    def where(self, rel: str) -> str:
        return f"{self.label}/{rel}" if rel else self.label


def _tree_of_folder(root: Path) -> _Tree:
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        entries += [f"{prefix}{f}" for f in filenames]
        entries += [f"{prefix}{d}/" for d in dirnames]
    return _Tree(str(root), entries, lambda rel: (root / rel).read_bytes())


def _tree_of_zip(path: Path) -> tuple[_Tree, _ZipReader]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{path}: not a readable zip file ({e})") from None
    reader = _ZipReader(path, archive)
    return _Tree(str(path), archive.namelist(), reader.read), reader


class _ZipReader:
    """Reads members of a zip; stored and deflated ones straight from a memory map.

    ``ZipFile.read`` costs tens of microseconds per member in Python bookkeeping, as much
    as decoding a 32x32 JPEG; slicing the mapped file and checking the CRC is cheaper.
    """

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path, self.archive = path, archive
        self.infos = {i.filename: i for i in archive.infolist()}
        self.view: Any = None
        try:
            with open(path, "rb") as f:
                self.view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # e.g. an empty file or no mmap: use ZipFile.read
            self.view = None

    def read(self, rel: str) -> bytes:
        info = self.infos.get(rel)
        if info is not None:
            check_member_size(f"{self.path}/{rel}", info.file_size)
        try:
            if self.view is not None and info is not None and info.flag_bits & 0x1 == 0:
                data = self._read_mapped(info)
                if data is not None:
                    return data
            return self.archive.read(rel)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error) as e:
            raise DataError(f"{self.path}/{rel}: cannot read from the zip ({e})") from None

    def _read_mapped(self, info: zipfile.ZipInfo) -> bytes | None:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise zipfile.BadZipFile("a stored member's sizes differ")
        header = self.view[info.header_offset : info.header_offset + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        start = info.header_offset + 30 + int.from_bytes(header[26:28], "little")
        start += int.from_bytes(header[28:30], "little")
        raw = self.view[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            raise zipfile.BadZipFile("truncated member")
        if info.compress_type == zipfile.ZIP_STORED:
            data = raw
        else:  # never more than the declared size (checked before), whatever the data says
            data = zlib.decompressobj(-15).decompress(raw, info.file_size + 1)
            if len(data) != info.file_size:
                raise zipfile.BadZipFile(f"inflates to {len(data):,}+ bytes, not the "
                                         f"{info.file_size:,} its header declares")
        if zlib.crc32(data) != info.CRC:
            raise zipfile.BadZipFile("CRC check failed")
        return data

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
        self.archive.close()


def _find_base(tree: _Tree) -> str:
    """Look through single wrapping folders (``data.zip/data/<class>/...``)."""
    base = ""
    while True:
        dirs = tree.dirs(base)
        if tree.images.get(base) or len(dirs) != 1 or dirs[0].lower() in _SPLIT_FOLDERS:
            return base
        child = f"{base}/{dirs[0]}" if base else dirs[0]
        if not tree.dirs(child):
            return base
        base = child


def _class_files(tree: _Tree, folder: str, what: str) -> dict[str, list[str]]:
    classes = tree.dirs(folder)
    if not classes:
        raise DataError(
            f"{tree.where(folder)}: expected one sub-folder per class ({what}), found none"
        )
    out = {}
    for c in classes:
        rel = f"{folder}/{c}" if folder else c
        files = tree.images_under(rel)
        if not files:
            raise DataError(
                f"{tree.where(rel)}: class folder has no images "
                f"({', '.join(sorted(IMAGE_EXTENSIONS))})"
            )
        out[c] = files
    return out


def _decode_all(
    tree: _Tree, files: list[str], size: tuple[int, int] | None, channels: int | None,
    workers: int | None,
) -> list[np.ndarray]:
    def one(rel: str) -> np.ndarray:
        try:
            data = tree.read(rel)
        except OSError as e:
            raise DataError(f"{tree.where(rel)}: cannot read ({e})") from None
        return _decode(data, tree.where(rel), size, channels)

    if workers is None or workers <= 1 or len(files) < 64:
        return [one(f) for f in files]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, files))


def _stack(arrays: list[np.ndarray], files: list[str], tree: _Tree) -> np.ndarray:
    shapes = {a.shape[:2] for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape[:2]
        odd = next(i for i, a in enumerate(arrays) if a.shape[:2] != first)
        raise DataError(
            f"{tree.label}: images have different sizes: {tree.where(files[0])} is "
            f"{first[0]}x{first[1]} but {tree.where(files[odd])} is "
            f"{arrays[odd].shape[0]}x{arrays[odd].shape[1]} (height x width); pass "
            f"size=(height, width) (--image-size HxW) to resize them all"
        )
    if len({a.shape[2] for a in arrays}) > 1:  # some gray, some colour: all become RGB
        arrays = [np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a for a in arrays]
    return np.stack(arrays)


#: Decoded sets of at least this many images (read from a zip) are cached.
CACHE_MIN_IMAGES = 10_000
#: Environment variable: the cache folder, or ``off`` to disable caching.
CACHE_ENV = "CHAINRULE_CACHE"
_CACHE_VERSION = 1


def cache_dir() -> Path | None:
    """Where decoded image sets are cached: ``$CHAINRULE_CACHE``, else ``~/.cache/chainrule``;
    ``None`` when ``CHAINRULE_CACHE`` is ``off`` (or ``0``, ``no``, ``false``)."""
    env = os.environ.get(CACHE_ENV)
    if env is None:
        return Path.home() / ".cache" / "chainrule"
    if env.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    return Path(env).expanduser()


def _cache_file(path: Path, target: tuple[int, int] | None, channels: int | None) -> Path | None:
    """The cache entry of a zip: keyed by its absolute path, size, mtime and decode options."""
    folder = cache_dir()
    if folder is None or not path.is_file():
        return None
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{target}|{channels}|{_CACHE_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return folder / f"{path.stem}-{digest}.npz"


def _read_cache(file: Path) -> tuple[np.ndarray, np.ndarray, int, bool, list[str]] | None:
    try:
        with np.load(file, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
            n_train, has_test = int(z["n_train"]), bool(z["has_test"])
            classes = [str(c) for c in z["classes"]]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # unreadable entry: decode again (and overwrite it)
    if images.dtype != np.uint8 or images.ndim != 4 or labels.shape != (len(images),):
        return None
    return images, labels.astype(np.int64), n_train, has_test, classes


def _write_cache(file: Path, images: np.ndarray, labels: np.ndarray, n_train: int,
                 has_test: bool, classes: list[str]) -> None:
    """Best effort, atomic (:func:`~chainrule.atomic.atomic_open`); a read-only cache is skipped.

    No fsync: a cache entry lost in a crash is decoded again, not worth a flush of 100+ MB.
    """
    try:
        with atomic_open(file, "wb", fsync=False) as out:
            np.savez(out, images=images, labels=labels, n_train=n_train,
                     has_test=has_test, classes=np.array(classes, dtype=np.str_))
    except OSError:
        pass


def _read_tree(
    path: Path, target: tuple[int, int] | None, channels: int | None, workers: int | None
) -> tuple[np.ndarray, np.ndarray, int, bool, list[str]]:
    """Decode every image: ``(images, labels, number of train images, has test, classes)``;
    the train images come first."""
    reader: _ZipReader | None = None
    if path.is_file():
        tree, reader = _tree_of_zip(path)
    elif path.is_dir():
        tree = _tree_of_folder(path)
    else:
        raise DataError(f"{path}: no such image folder or zip file")
    try:
        base = _find_base(tree)
        dirs = {d.lower(): d for d in tree.dirs(base)}
        join = (lambda d: f"{base}/{d}") if base else (lambda d: d)
        if "train" in dirs:
            train = _class_files(tree, join(dirs["train"]), "under train/")
            test_dir = next((dirs[t] for t in _TEST_FOLDERS if t in dirs), None)
            test = _class_files(tree, join(test_dir), "under test/") if test_dir else {}
        else:
            train, test = _class_files(tree, base, "e.g. cat/, dog/"), {}
        classes = sorted(train)
        unknown = sorted(set(test) - set(train))
        if unknown:
            raise DataError(
                f"{tree.label}: test classes {unknown} have no folder under train/ "
                f"(train classes: {classes})"
            )
        index = {c: i for i, c in enumerate(classes)}
        files, labels = [], []
        for groups in (train, test):
            for c in sorted(groups):
                files += groups[c]
                labels += [index[c]] * len(groups[c])
        n_train = sum(len(v) for v in train.values())
        images = _stack(_decode_all(tree, files, target, channels, workers), files, tree)
    finally:
        if reader is not None:
            reader.close()
    return images, np.array(labels, dtype=np.int64), n_train, bool(test), classes


def load_image_folder(
    path: str | Path,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    name: str | None = None,
    workers: int | None = None,
    cache: bool = True,
) -> ImageDataset:
    """Load an image folder (or a ``.zip`` of one) as an :class:`ImageDataset`.

    ``size``: ``None`` (all images must share one size), an int or ``(height, width)``
    to resize to. ``grayscale``: convert every image to one gray channel. Without a
    ``test/`` folder, ``test_fraction`` of each class is held out with ``seed``.
    ``workers``: decoding threads (default 1: small images decode mostly in Python
    code that holds the GIL, so threads gain little there).

    ``cache``: a zip of at least :data:`CACHE_MIN_IMAGES` images is decoded once and
    kept as an ``.npz`` under :func:`cache_dir` (keyed by the zip's path, size, mtime and
    the decode options), so the next load takes a fraction of a second instead of many
    seconds (CIFAR-10's 60,000 JPEGs: 184 MB). ``CHAINRULE_CACHE=off`` disables it.
    """
    path = Path(path).expanduser()
    target = _as_size(size)
    channels = 1 if grayscale else None
    entry = _cache_file(path, target, channels) if cache else None
    decoded = _read_cache(entry) if entry is not None and entry.is_file() else None
    if decoded is None:
        decoded = _read_tree(path, target, channels, workers)
        if entry is not None and len(decoded[0]) >= CACHE_MIN_IMAGES:
            _write_cache(entry, *decoded)
    images, labels, n_train, has_test, classes = decoded

    if has_test:
        train_images, test_images = images[:n_train], images[n_train:]
        train_labels, test_labels = labels[:n_train], labels[n_train:]
    else:
        keep, held = stratified_split_indices(labels, test_fraction, seed=seed)
        train_images, test_images = images[keep], images[held]
        train_labels, test_labels = labels[keep], labels[held]
    default_name = path.name[:-4] if path.name.lower().endswith(".zip") else path.name
    return ImageDataset(
        name=name or default_name,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        classes=classes,
        source=str(path),
    )
